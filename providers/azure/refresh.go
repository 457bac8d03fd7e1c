package azure

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// SourceID is the catalog source ID of prices read from the Azure Retail
// Prices API.
const SourceID = "azure-retail-prices-api"

// RetailEndpoint is the public Retail Prices API. It needs no credentials.
const RetailEndpoint = "https://prices.azure.com/api/retail/prices"

// maxRetailPages bounds the pages one filter may span. The filters ask for
// one SKU or service in one region, a page or two; the cap stops a mirror
// whose NextPageLink never ends (or points back at itself) from paging
// forever.
const maxRetailPages = 100

// maxRetailPageBytes bounds one page's body. A page is a few hundred KB at
// most (100 items); the cap guards against a broken mirror streaming
// forever.
const maxRetailPageBytes = 64 << 20

// retailAPIVersion is the API version asked for; it returns savings-plan
// prices beside the consumption ones, which the filters drop.
const retailAPIVersion = "2023-01-01-preview"

// PriceReader reads one region's catalog row from the Retail Prices API.
// The API has no SDK client, so the calls go through an azcore pipeline,
// which brings the SDK's retry (429, 5xx, with Retry-After), telemetry and
// logging policies; pages follow NextPageLink through runtime.Pager.
type PriceReader struct {
	pl       runtime.Pipeline
	endpoint string
	// VM is the reference VM size (default Standard_D2s_v5).
	VM string
	// VCPU and MemoryGiB are VM's shape (default 2 and 8); the API does not
	// return it.
	VCPU, MemoryGiB float64
	// Disk is the managed-disk tier priced as storage (default "P15 LRS").
	// Its price per disk-month is divided by the tier's size in GiB.
	Disk string
}

// NewPriceReader returns a reader of endpoint (RetailEndpoint when empty)
// with the catalog's defaults. opts are the azcore client options (retry,
// transport, logging); nil means the SDK's defaults.
func NewPriceReader(endpoint string, opts *policy.ClientOptions) *PriceReader {
	if endpoint == "" {
		endpoint = RetailEndpoint
	}
	return &PriceReader{
		pl:       runtime.NewPipeline("meridian/pricing", "v1", runtime.PipelineOptions{}, opts),
		endpoint: endpoint,
		VM:       "Standard_D2s_v5", VCPU: 2, MemoryGiB: 8,
		Disk: "P15 LRS",
	}
}

// Provider returns meridian.ProviderAzure.
func (*PriceReader) Provider() meridian.Provider { return meridian.ProviderAzure }

// Read returns region's row: the reference VM's Linux consumption price,
// the disk tier per GiB-month and internet egress per GB (first paid tier,
// zero when the API lists none for the region, for the caller to fill).
func (r *PriceReader) Read(ctx context.Context, region string) (providers.Entry, error) {
	e := providers.Entry{Provider: meridian.ProviderAzure, Region: region}
	base := fmt.Sprintf("armRegionName eq '%s' and currencyCode eq 'USD' and priceType eq 'Consumption'", odata(region))

	vms, err := r.items(ctx, base+fmt.Sprintf(" and serviceName eq 'Virtual Machines' and armSkuName eq '%s'", odata(r.VM)))
	if err != nil {
		return e, err
	}
	hour, ok := VMHour(vms, region, r.VM)
	if !ok {
		return e, fmt.Errorf("azure %s %s: no single Linux consumption price per hour among %d items", region, r.VM, len(vms))
	}
	e.Instance = providers.Instance{Type: r.VM, VCPU: r.VCPU, MemoryGiB: r.MemoryGiB, Hour: hour,
		Source: SourceID, Basis: providers.BasisPublished,
		SKUs: meters(vms, func(it Item) bool { return it.OnDemandLinux() && it.ArmSkuName == r.VM && it.RetailPrice == hour })}

	gib, ok := DiskTierGiB(r.Disk)
	if !ok {
		return e, fmt.Errorf("azure: disk tier %q: size unknown", r.Disk)
	}
	disks, err := r.items(ctx, base+fmt.Sprintf(" and serviceName eq 'Storage' and skuName eq '%s'", odata(r.Disk)))
	if err != nil {
		return e, err
	}
	month, ok := DiskMonth(disks, region, r.Disk)
	if !ok {
		return e, fmt.Errorf("azure %s disk %s: no single price per disk-month among %d items", region, r.Disk, len(disks))
	}
	e.StorageGBMonth = providers.Price{Value: month / gib, Item: fmt.Sprintf("%s disk, %g GiB", r.Disk, gib),
		Source: SourceID, Basis: providers.BasisDerived, Unit: "GiB-month",
		Note: fmt.Sprintf("%v per disk-month / %g GiB", month, gib),
		SKUs: meters(disks, func(it Item) bool { return it.MeterName == r.Disk+" Disk" })}

	bw, err := r.items(ctx, base+" and serviceName eq 'Bandwidth'")
	if err != nil {
		return e, err
	}
	out := slices.DeleteFunc(bw, func(it Item) bool {
		return it.MeterName != "Standard Data Transfer Out" || it.UnitOfMeasure != "1 GB" || it.RetailPrice <= 0
	})
	if len(out) > 0 {
		first := slices.MinFunc(out, func(a, b Item) int {
			switch {
			case a.TierMinimumUnits < b.TierMinimumUnits:
				return -1
			case a.TierMinimumUnits > b.TierMinimumUnits:
				return 1
			}
			return 0
		})
		e.EgressGB = providers.Price{Value: first.RetailPrice, Item: "internet egress (Standard Data Transfer Out), first paid tier",
			Source: SourceID, Basis: providers.BasisPublished, Unit: "GB", SKUs: []string{first.MeterID}}
	}
	return e, nil
}

// items reads every page of the items matching filter.
func (r *PriceReader) items(ctx context.Context, filter string) ([]Item, error) {
	first := r.endpoint + "?api-version=" + retailAPIVersion + "&$filter=" + url.QueryEscape(filter)
	pager := runtime.NewPager(runtime.PagingHandler[Page]{
		More: func(p Page) bool { return p.NextPageLink != "" },
		Fetcher: func(ctx context.Context, prev *Page) (Page, error) {
			link := first
			if prev != nil {
				link = prev.NextPageLink
			}
			return r.page(ctx, link)
		},
	})
	var out []Item
	for pages := 0; pager.More(); pages++ {
		if pages == maxRetailPages {
			return nil, fmt.Errorf("azure retail prices (%s): more than %d pages", filter, maxRetailPages)
		}
		p, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("azure retail prices (%s): %w", filter, err)
		}
		out = append(out, p.Items...)
	}
	return out, nil
}

func (r *PriceReader) page(ctx context.Context, link string) (Page, error) {
	req, err := runtime.NewRequest(ctx, http.MethodGet, link)
	if err != nil {
		return Page{}, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := r.pl.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return Page{}, runtime.NewResponseError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRetailPageBytes+1))
	if err != nil {
		return Page{}, fmt.Errorf("read page: %w", err)
	}
	if len(b) > maxRetailPageBytes {
		return Page{}, fmt.Errorf("read page: larger than %d bytes", maxRetailPageBytes)
	}
	return ParsePage(b)
}

// meters returns the sorted meter IDs of the items keep selects.
func meters(items []Item, keep func(Item) bool) []string {
	var ids []string
	for _, it := range items {
		if keep(it) && it.MeterID != "" {
			ids = append(ids, it.MeterID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// odata escapes a string literal for an OData $filter.
func odata(s string) string { return strings.ReplaceAll(s, "'", "''") }
