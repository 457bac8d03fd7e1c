package gcp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	billing "cloud.google.com/go/billing/apiv1"
	"cloud.google.com/go/billing/apiv1/billingpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// SourceID is the catalog source ID of prices read from the Cloud Billing
// Catalog API.
const SourceID = "gcp-cloud-billing-catalog-api"

// ComputeEngineService is the Cloud Billing service name of Compute Engine.
const ComputeEngineService = "services/6F81-5844-456A"

// SKULister is the part of billing.CloudCatalogClient a PriceReader uses.
type SKULister interface {
	ListSkus(ctx context.Context, req *billingpb.ListSkusRequest, opts ...gax.CallOption) *billing.SkuIterator
}

// PriceReader reads catalog rows from the Compute Engine SKUs of the Cloud
// Billing Catalog API. The real client pages through ListSkus and retries
// on Unavailable; the SKUs are listed once and shared by every region.
type PriceReader struct {
	client SKULister
	// Family is the machine family whose core and RAM SKUs price compute
	// (default "N2"; "E2" also works): "<Family> Instance Core running in …"
	// per vCPU-hour and "<Family> Instance Ram running in …" per GiB-hour,
	// the predefined SKUs, or the Custom ones when a region has only those.
	Family string
	// VCPU and MemoryGiB shape the reference instance (default 2 and 8, as
	// n2-standard-2), whose price is VCPU × core + MemoryGiB × RAM.
	VCPU, MemoryGiB float64
	// Disk is the description prefix of the disk SKU priced as storage
	// (default "Balanced PD Capacity", pd-balanced).
	Disk string
	// Egress is the description prefix of the internet egress SKUs
	// (default "Network Internet Egress from").
	Egress string

	mu   sync.Mutex
	skus []*billingpb.Sku
}

// NewPriceReader returns a reader over client with the catalog's defaults.
func NewPriceReader(client SKULister) *PriceReader {
	return &PriceReader{client: client, Family: "N2", VCPU: 2, MemoryGiB: 8,
		Disk: "Balanced PD Capacity", Egress: "Network Internet Egress from"}
}

// Provider returns meridian.ProviderGCP.
func (*PriceReader) Provider() meridian.Provider { return meridian.ProviderGCP }

// Read returns region's row. Compute is derived from the family's core and
// RAM SKUs; storage is per GiB-month and egress per GiB, each the first paid
// tier. Egress is zero when no SKU matches, for the caller to fill.
func (r *PriceReader) Read(ctx context.Context, region string) (providers.Entry, error) {
	e := providers.Entry{Provider: meridian.ProviderGCP, Region: region}
	skus, err := r.list(ctx)
	if err != nil {
		return e, err
	}
	core, err := r.pick(skus, region, "h", "Compute", r.Family+" Instance Core running in", r.Family+" Custom Instance Core running in")
	if err != nil {
		return e, fmt.Errorf("gcp %s %s core: %w", region, r.Family, err)
	}
	ram, err := r.pick(skus, region, "GiBy.h", "Compute", r.Family+" Instance Ram running in", r.Family+" Custom Instance Ram running in")
	if err != nil {
		return e, fmt.Errorf("gcp %s %s RAM: %w", region, r.Family, err)
	}
	e.Instance = providers.Instance{
		Type: fmt.Sprintf("%s %gvCPU/%gGiB", strings.ToLower(r.Family), r.VCPU, r.MemoryGiB),
		VCPU: r.VCPU, MemoryGiB: r.MemoryGiB, Hour: r.VCPU*core.price + r.MemoryGiB*ram.price,
		Source: SourceID, Basis: providers.BasisDerived, SKUs: []string{core.id, ram.id},
		Note: fmt.Sprintf("%g × %v per vCPU-hour (%s) + %g × %v per GiB-hour (%s)",
			r.VCPU, core.price, core.id, r.MemoryGiB, ram.price, ram.id),
	}
	disk, err := r.pick(skus, region, "GiBy.mo", "Storage", r.Disk)
	if err != nil {
		return e, fmt.Errorf("gcp %s disk %q: %w", region, r.Disk, err)
	}
	e.StorageGBMonth = providers.Price{Value: disk.price, Item: disk.desc, Source: SourceID,
		Basis: providers.BasisPublished, Unit: "GiB-month", SKUs: []string{disk.id}}
	if eg, err := r.pick(skus, region, "GiBy", "Network", r.Egress); err == nil {
		e.EgressGB = providers.Price{Value: eg.price, Item: eg.desc, Source: SourceID,
			Basis: providers.BasisPublished, Unit: "GiB", SKUs: []string{eg.id}}
	}
	return e, nil
}

func (r *PriceReader) list(ctx context.Context) ([]*billingpb.Sku, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.skus != nil {
		return r.skus, nil
	}
	// The generated client sets no retry for ListSkus; a refresh that
	// pages through thousands of SKUs should survive a throttled page.
	retry := gax.WithRetry(func() gax.Retryer {
		return gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted},
			gax.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2})
	})
	it := r.client.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: ComputeEngineService, CurrencyCode: "USD"}, retry)
	var all []*billingpb.Sku
	for {
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gcp billing ListSkus %s: %w", ComputeEngineService, err)
		}
		all = append(all, s)
	}
	r.skus = all
	return all, nil
}

type pricedSKU struct {
	id, desc string
	price    float64
}

// pick returns the on-demand SKU in region whose description starts with
// the first prefix that matches any, priced per unit. When several match
// (egress to several continents), the dearest first paid tier is taken, so
// that the catalog never understates a cost.
func (r *PriceReader) pick(skus []*billingpb.Sku, region, unit, family string, prefixes ...string) (pricedSKU, error) {
	for _, prefix := range prefixes {
		var found []pricedSKU
		for _, s := range skus {
			c := s.GetCategory()
			if !strings.HasPrefix(s.GetDescription(), prefix) || c.GetUsageType() != "OnDemand" ||
				c.GetResourceFamily() != family || !slices.Contains(s.GetServiceRegions(), region) {
				continue
			}
			price, ok := firstPaidTier(s, unit)
			if !ok {
				return pricedSKU{}, fmt.Errorf("SKU %s (%s): no USD price per %s", s.GetSkuId(), s.GetDescription(), unit)
			}
			found = append(found, pricedSKU{id: s.GetSkuId(), desc: s.GetDescription(), price: price})
		}
		if len(found) > 0 {
			return slices.MaxFunc(found, func(a, b pricedSKU) int {
				if a.price != b.price {
					if a.price < b.price {
						return -1
					}
					return 1
				}
				return strings.Compare(b.id, a.id)
			}), nil
		}
	}
	return pricedSKU{}, fmt.Errorf("no on-demand %s SKU described %q serves the region", family, prefixes)
}

// firstPaidTier is the price of the first tier above zero of the SKU's
// latest pricing info in unit: free allowances are not deducted, as
// docs/pricing.md says.
func firstPaidTier(s *billingpb.Sku, unit string) (float64, bool) {
	infos := s.GetPricingInfo()
	if len(infos) == 0 {
		return 0, false
	}
	latest := slices.MaxFunc(infos, func(a, b *billingpb.PricingInfo) int {
		return a.GetEffectiveTime().AsTime().Compare(b.GetEffectiveTime().AsTime())
	})
	ex := latest.GetPricingExpression()
	if ex.GetUsageUnit() != unit {
		return 0, false
	}
	for _, t := range ex.GetTieredRates() {
		m := t.GetUnitPrice()
		if m.GetCurrencyCode() != "" && m.GetCurrencyCode() != "USD" {
			return 0, false
		}
		if v := float64(m.GetUnits()) + float64(m.GetNanos())/1e9; v > 0 {
			return v, true
		}
	}
	return 0, false
}
