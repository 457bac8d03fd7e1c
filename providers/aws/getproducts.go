package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Response is one page of a pricing:GetProducts response.
type Response struct {
	FormatVersion string
	// Products are the decoded PriceList elements, in response order.
	Products []Product
	// NextToken is set when more pages follow.
	NextToken string
}

// Product is one PriceList element: a SKU, its attributes and its on-demand
// price dimensions. Reserved terms are skipped: Meridian prices on-demand
// capacity only.
type Product struct {
	SKU           string
	ProductFamily string
	ServiceCode   string
	// Attributes are the product attributes as published, e.g.
	// "instanceType", "operatingSystem", "volumeApiName", "regionCode".
	Attributes      map[string]string
	OnDemand        []Dimension
	Version         string
	PublicationDate time.Time
}

// Dimension is one on-demand price dimension: USD per Unit for usage between
// BeginRange and EndRange (+Inf when open-ended) in the billing period.
type Dimension struct {
	RateCode      string
	Description   string
	Unit          string
	BeginRange    float64
	EndRange      float64
	USD           float64
	EffectiveDate time.Time
}

// Region returns the product's region code: its regionCode attribute, or for
// older items that lack one, the code of its location name. It returns ""
// when neither is known.
func (p Product) Region() string {
	if r := p.Attributes["regionCode"]; r != "" {
		return r
	}
	r, _ := RegionOfLocation(p.Attributes["location"])
	return r
}

// LinuxOnDemand reports whether p is the plain on-demand Linux price of a
// shared-tenancy instance, with the filters karpenter-provider-aws applies:
// operatingSystem Linux, tenancy Shared, preInstalledSw NA, capacitystatus
// Used, and marketoption OnDemand where the attribute exists (items published
// before it was introduced lack it).
func (p Product) LinuxOnDemand() bool {
	a := p.Attributes
	mo, hasMO := a["marketoption"]
	return p.ProductFamily == "Compute Instance" &&
		a["operatingSystem"] == "Linux" && a["tenancy"] == "Shared" &&
		a["preInstalledSw"] == "NA" && a["capacitystatus"] == "Used" &&
		(!hasMO || mo == "OnDemand")
}

// Price returns the USD price per unit of p's single flat on-demand
// dimension in that unit (e.g. "Hrs", "GB-Mo"). It returns false when there
// is no such dimension, or when the price is tiered and so has no one value.
func (p Product) Price(unit string) (float64, bool) {
	var found []Dimension
	for _, d := range p.OnDemand {
		if d.Unit == unit {
			found = append(found, d)
		}
	}
	if len(found) != 1 || found[0].BeginRange != 0 || !math.IsInf(found[0].EndRange, 1) {
		return 0, false
	}
	return found[0].USD, true
}

// ParseGetProducts parses a GetProducts response body,
// {"FormatVersion":"aws_v1","PriceList":["<json>",...],"NextToken":...}.
// The API returns each PriceList element as a JSON-encoded string; an
// element that is a JSON object instead is accepted too.
func ParseGetProducts(b []byte) (Response, error) {
	var raw struct {
		FormatVersion string            `json:"FormatVersion"`
		PriceList     []json.RawMessage `json:"PriceList"`
		NextToken     string            `json:"NextToken"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Response{}, fmt.Errorf("aws getproducts: %w", err)
	}
	if raw.PriceList == nil {
		return Response{}, errors.New("aws getproducts: no PriceList")
	}
	resp := Response{FormatVersion: raw.FormatVersion, NextToken: raw.NextToken}
	for i, el := range raw.PriceList {
		item := []byte(el)
		if t := bytes.TrimSpace(el); len(t) > 0 && t[0] == '"' {
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return Response{}, fmt.Errorf("aws getproducts: PriceList[%d]: %w", i, err)
			}
			item = []byte(s)
		}
		p, err := ParsePriceListItem(item)
		if err != nil {
			return Response{}, fmt.Errorf("aws getproducts: PriceList[%d]: %w", i, err)
		}
		resp.Products = append(resp.Products, p)
	}
	return resp, nil
}

type rawItem struct {
	Product struct {
		ProductFamily string            `json:"productFamily"`
		Attributes    map[string]string `json:"attributes"`
		SKU           string            `json:"sku"`
	} `json:"product"`
	ServiceCode string `json:"serviceCode"`
	Terms       struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				Unit         string            `json:"unit"`
				EndRange     string            `json:"endRange"`
				BeginRange   string            `json:"beginRange"`
				Description  string            `json:"description"`
				RateCode     string            `json:"rateCode"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
			SKU           string `json:"sku"`
			EffectiveDate string `json:"effectiveDate"`
		} `json:"OnDemand"`
	} `json:"terms"`
	Version         string `json:"version"`
	PublicationDate string `json:"publicationDate"`
}

// ParsePriceListItem parses one decoded PriceList element.
func ParsePriceListItem(b []byte) (Product, error) {
	var raw rawItem
	if err := json.Unmarshal(b, &raw); err != nil {
		return Product{}, fmt.Errorf("decode price list item: %w", err)
	}
	p := Product{
		SKU:           raw.Product.SKU,
		ProductFamily: raw.Product.ProductFamily,
		ServiceCode:   raw.ServiceCode,
		Attributes:    raw.Product.Attributes,
		Version:       raw.Version,
	}
	if p.SKU == "" {
		return Product{}, errors.New("price list item: product.sku: missing")
	}
	var err error
	if p.PublicationDate, err = parseTime(raw.PublicationDate); err != nil {
		return Product{}, fmt.Errorf("price list item %s: publicationDate: %w", p.SKU, err)
	}
	for termKey, term := range raw.Terms.OnDemand {
		if term.SKU != "" && term.SKU != p.SKU {
			return Product{}, fmt.Errorf("price list item %s: terms.OnDemand[%s]: sku %q belongs to another product", p.SKU, termKey, term.SKU)
		}
		eff, err := parseTime(term.EffectiveDate)
		if err != nil {
			return Product{}, fmt.Errorf("price list item %s: terms.OnDemand[%s].effectiveDate: %w", p.SKU, termKey, err)
		}
		for dimKey, d := range term.PriceDimensions {
			where := fmt.Sprintf("price list item %s: terms.OnDemand[%s].priceDimensions[%s]", p.SKU, termKey, dimKey)
			usd, ok := d.PricePerUnit["USD"]
			if !ok {
				return Product{}, fmt.Errorf("%s: pricePerUnit: no USD price", where)
			}
			dim := Dimension{RateCode: d.RateCode, Description: d.Description, Unit: d.Unit, EffectiveDate: eff}
			if dim.USD, err = parseAmount(usd); err != nil {
				return Product{}, fmt.Errorf("%s: pricePerUnit.USD: %w", where, err)
			}
			if dim.BeginRange, err = parseRange(d.BeginRange, 0); err != nil {
				return Product{}, fmt.Errorf("%s: beginRange: %w", where, err)
			}
			if dim.EndRange, err = parseRange(d.EndRange, math.Inf(1)); err != nil {
				return Product{}, fmt.Errorf("%s: endRange: %w", where, err)
			}
			if dim.EndRange < dim.BeginRange {
				return Product{}, fmt.Errorf("%s: endRange %v is below beginRange %v", where, dim.EndRange, dim.BeginRange)
			}
			p.OnDemand = append(p.OnDemand, dim)
		}
	}
	// Terms are JSON objects keyed by code; sort for a deterministic result.
	slices.SortFunc(p.OnDemand, func(a, b Dimension) int {
		if a.BeginRange != b.BeginRange {
			if a.BeginRange < b.BeginRange {
				return -1
			}
			return 1
		}
		return strings.Compare(a.RateCode, b.RateCode)
	})
	return p, nil
}

// parseAmount parses a price such as "0.0960000000".
func parseAmount(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("want a non-negative decimal, got %q", s)
	}
	return v, nil
}

// parseRange parses a tier bound; "" means def and "Inf" means unbounded.
func parseRange(s string, def float64) (float64, error) {
	switch s {
	case "":
		return def, nil
	case "Inf":
		return math.Inf(1), nil
	}
	return parseAmount(s)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}
