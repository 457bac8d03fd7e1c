package aws

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// SourceID is the catalog source ID of prices read from the AWS Price List
// Query API.
const SourceID = "aws-pricing-api"

// PriceReader reads one region's catalog row from the Price List Query API
// (pricing:GetProducts) through the SDK client, which signs, retries and
// pages the calls.
type PriceReader struct {
	client pricing.GetProductsAPIClient
	// Instance is the reference instance type (default m6i.large).
	Instance string
	// Volume is the EBS volume type priced as storage (default gp3).
	Volume string
}

// NewPriceReader returns a reader over client with the catalog's defaults.
func NewPriceReader(client pricing.GetProductsAPIClient) *PriceReader {
	return &PriceReader{client: client, Instance: "m6i.large", Volume: "gp3"}
}

// Provider returns meridian.ProviderAWS.
func (*PriceReader) Provider() meridian.Provider { return meridian.ProviderAWS }

// Read returns region's row: the on-demand Linux price of the reference
// instance, EBS storage per GB-month and internet egress per GB, each with
// the SKUs it was read from. Compute rates are left for the catalog's split.
func (r *PriceReader) Read(ctx context.Context, region string) (providers.Entry, error) {
	e := providers.Entry{Provider: meridian.ProviderAWS, Region: region}
	compute, err := r.products(ctx, "AmazonEC2", map[string]string{
		"instanceType": r.Instance, "regionCode": region, "operatingSystem": "Linux",
		"tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
	})
	if err != nil {
		return e, err
	}
	compute = slices.DeleteFunc(compute, func(p Product) bool { return !p.LinuxOnDemand() })
	hour, skus, err := single(compute, "Hrs", false)
	if err != nil {
		return e, fmt.Errorf("aws %s %s: %w", region, r.Instance, err)
	}
	vcpu, mem, err := shape(compute[0].Attributes)
	if err != nil {
		return e, fmt.Errorf("aws %s %s: %w", region, r.Instance, err)
	}
	e.Instance = providers.Instance{Type: r.Instance, VCPU: vcpu, MemoryGiB: mem, Hour: hour,
		Source: SourceID, Basis: providers.BasisPublished, SKUs: skus}

	storage, err := r.products(ctx, "AmazonEC2", map[string]string{
		"productFamily": "Storage", "volumeApiName": r.Volume, "regionCode": region,
	})
	if err != nil {
		return e, err
	}
	month, skus, err := single(storage, "GB-Mo", false)
	if err != nil {
		return e, fmt.Errorf("aws %s EBS %s: %w", region, r.Volume, err)
	}
	e.StorageGBMonth = providers.Price{Value: month, Item: "EBS " + r.Volume, Source: SourceID,
		Basis: providers.BasisPublished, Unit: "GB-month", SKUs: skus}

	egress, err := r.products(ctx, "AWSDataTransfer", map[string]string{
		"fromRegionCode": region, "transferType": "AWS Outbound", "toLocation": "External",
	})
	if err != nil {
		return e, err
	}
	gb, skus, err := single(egress, "GB", true)
	if err != nil {
		return e, fmt.Errorf("aws %s internet egress: %w", region, err)
	}
	e.EgressGB = providers.Price{Value: gb, Item: "internet egress, first paid tier", Source: SourceID,
		Basis: providers.BasisPublished, Unit: "GB", SKUs: skus}
	return e, nil
}

// products pages through GetProducts for service with TERM_MATCH filters.
func (r *PriceReader) products(ctx context.Context, service string, match map[string]string) ([]Product, error) {
	in := &pricing.GetProductsInput{ServiceCode: sdkaws.String(service), FormatVersion: sdkaws.String("aws_v1")}
	keys := make([]string, 0, len(match))
	for k := range match {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in.Filters = append(in.Filters, types.Filter{Field: sdkaws.String(k), Value: sdkaws.String(match[k]), Type: types.FilterTypeTermMatch})
	}
	var out []Product
	pages := pricing.NewGetProductsPaginator(r.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws pricing GetProducts %s %v: %w", service, match, err)
		}
		for i, item := range page.PriceList {
			p, err := ParsePriceListItem([]byte(item))
			if err != nil {
				return nil, fmt.Errorf("aws pricing GetProducts %s: PriceList[%d]: %w", service, i, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// single returns the one on-demand price in unit that the products agree
// on, with their SKUs. With tiered, a product's price is its first paid tier
// (free allowances are not deducted, as docs/pricing.md says); otherwise a
// product must have a single flat rate.
func single(ps []Product, unit string, tiered bool) (float64, []string, error) {
	if len(ps) == 0 {
		return 0, nil, fmt.Errorf("no product matched")
	}
	price, skus := math.NaN(), []string(nil)
	for _, p := range ps {
		v, ok := p.Price(unit)
		if tiered {
			v, ok = firstPaid(p.OnDemand, unit)
		}
		if !ok {
			return 0, nil, fmt.Errorf("product %s: no single on-demand price per %s", p.SKU, unit)
		}
		if !math.IsNaN(price) && v != price {
			return 0, nil, fmt.Errorf("products %s and %s disagree: %v and %v per %s", skus[0], p.SKU, price, v, unit)
		}
		price = v
		skus = append(skus, p.SKU)
	}
	slices.Sort(skus)
	return price, slices.Compact(skus), nil
}

func firstPaid(ds []Dimension, unit string) (float64, bool) {
	for _, d := range ds { // sorted by BeginRange
		if d.Unit == unit && d.USD > 0 {
			return d.USD, true
		}
	}
	return 0, false
}

// shape reads an instance's vCPUs and memory from its price-list
// attributes ("vcpu": "2", "memory": "8 GiB").
func shape(a map[string]string) (vcpu, memGiB float64, err error) {
	vcpu, err = strconv.ParseFloat(a["vcpu"], 64)
	if err != nil || vcpu <= 0 {
		return 0, 0, fmt.Errorf("attribute vcpu: want a positive number, got %q", a["vcpu"])
	}
	m := strings.TrimSuffix(strings.ReplaceAll(a["memory"], ",", ""), " GiB")
	memGiB, err = strconv.ParseFloat(m, 64)
	if err != nil || memGiB <= 0 {
		return 0, 0, fmt.Errorf("attribute memory: want %q, got %q", "N GiB", a["memory"])
	}
	return vcpu, memGiB, nil
}
