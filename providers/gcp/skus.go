package gcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// SKUList is one page of a services.skus.list response.
type SKUList struct {
	SKUs []SKU `json:"skus"`
	// NextPageToken is set when more pages follow.
	NextPageToken string `json:"nextPageToken"`
}

// SKU is one billable item, such as "N2D AMD Instance Core running in
// Americas".
type SKU struct {
	Name                string        `json:"name"`
	SKUID               string        `json:"skuId"`
	Description         string        `json:"description"`
	Category            Category      `json:"category"`
	ServiceRegions      []string      `json:"serviceRegions"`
	PricingInfo         []PricingInfo `json:"pricingInfo"`
	ServiceProviderName string        `json:"serviceProviderName"`
	GeoTaxonomy         *GeoTaxonomy  `json:"geoTaxonomy,omitempty"`
}

// Category classifies a SKU; UsageType "OnDemand" is the list price.
type Category struct {
	ServiceDisplayName string `json:"serviceDisplayName"`
	ResourceFamily     string `json:"resourceFamily"`
	ResourceGroup      string `json:"resourceGroup"`
	UsageType          string `json:"usageType"`
}

// GeoTaxonomy says where a SKU applies.
type GeoTaxonomy struct {
	Type    string   `json:"type"`
	Regions []string `json:"regions"`
}

// PricingInfo is a SKU's price from EffectiveTime on.
type PricingInfo struct {
	Summary                string            `json:"summary"`
	PricingExpression      PricingExpression `json:"pricingExpression"`
	AggregationInfo        *AggregationInfo  `json:"aggregationInfo,omitempty"`
	CurrencyConversionRate float64           `json:"currencyConversionRate"`
	EffectiveTime          time.Time         `json:"effectiveTime"`
}

// AggregationInfo says over what tiered usage is summed (e.g. ACCOUNT,
// MONTHLY).
type AggregationInfo struct {
	AggregationLevel    string `json:"aggregationLevel"`
	AggregationInterval string `json:"aggregationInterval"`
	AggregationCount    int    `json:"aggregationCount"`
}

// PricingExpression prices usage in UsageUnit ("h", "GiBy.h", "GiBy.mo",
// "GiBy") by tiers: each rate applies from its StartUsageAmount up to the
// next tier's.
type PricingExpression struct {
	UsageUnit                string       `json:"usageUnit"`
	UsageUnitDescription     string       `json:"usageUnitDescription"`
	BaseUnit                 string       `json:"baseUnit"`
	BaseUnitDescription      string       `json:"baseUnitDescription"`
	BaseUnitConversionFactor float64      `json:"baseUnitConversionFactor"`
	DisplayQuantity          float64      `json:"displayQuantity"`
	TieredRates              []TieredRate `json:"tieredRates"`
}

// TieredRate is the unit price from StartUsageAmount on.
type TieredRate struct {
	StartUsageAmount float64 `json:"startUsageAmount"`
	UnitPrice        Money   `json:"unitPrice"`
}

// Money is a google.type.Money: Units whole currency units plus Nanos
// billionths, both of the same sign.
type Money struct {
	CurrencyCode string
	Units        int64
	Nanos        int32
}

// Value returns the amount as a float: Units + Nanos/1e9.
func (m Money) Value() float64 { return float64(m.Units) + float64(m.Nanos)/1e9 }

// UnmarshalJSON reads the proto3 JSON form, where the int64 units field is a
// string ("0"); a plain number is accepted too.
func (m *Money) UnmarshalJSON(b []byte) error {
	var raw struct {
		CurrencyCode string          `json:"currencyCode"`
		Units        json.RawMessage `json:"units"`
		Nanos        int32           `json:"nanos"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	units := string(raw.Units)
	switch {
	case len(raw.Units) == 0 || units == "null":
		units = "0"
	case raw.Units[0] == '"':
		if err := json.Unmarshal(raw.Units, &units); err != nil {
			return fmt.Errorf("units: %w", err)
		}
	}
	u, err := strconv.ParseInt(units, 10, 64)
	if err != nil {
		return fmt.Errorf("units: want an integer, got %s", raw.Units)
	}
	if raw.Nanos <= -1e9 || raw.Nanos >= 1e9 {
		return fmt.Errorf("nanos: %d is out of range", raw.Nanos)
	}
	if (u > 0 && raw.Nanos < 0) || (u < 0 && raw.Nanos > 0) {
		return fmt.Errorf("units %d and nanos %d differ in sign", u, raw.Nanos)
	}
	*m = Money{CurrencyCode: raw.CurrencyCode, Units: u, Nanos: raw.Nanos}
	return nil
}

// ParseSKUs parses a services.skus.list response. It rejects negative
// prices, tiers that do not start at a non-negative amount and ascend, and
// pricing without tiers, so that UnitPrice and Cost are defined for every
// SKU it returns.
func ParseSKUs(b []byte) (SKUList, error) {
	var l SKUList
	if err := json.Unmarshal(b, &l); err != nil {
		return SKUList{}, fmt.Errorf("gcp skus: %w", err)
	}
	if l.SKUs == nil {
		return SKUList{}, errors.New("gcp skus: no skus")
	}
	for i, s := range l.SKUs {
		if s.SKUID == "" {
			return SKUList{}, fmt.Errorf("gcp skus: skus[%d]: skuId: missing", i)
		}
		for j, pi := range s.PricingInfo {
			if err := pi.PricingExpression.check(); err != nil {
				return SKUList{}, fmt.Errorf("gcp skus: %s (%s): pricingInfo[%d]: %w", s.SKUID, s.Description, j, err)
			}
		}
	}
	return l, nil
}

func (e PricingExpression) check() error {
	if len(e.TieredRates) == 0 {
		return errors.New("no tieredRates")
	}
	for i, t := range e.TieredRates {
		if t.UnitPrice.Value() < 0 {
			return fmt.Errorf("tieredRates[%d]: negative price", i)
		}
		if t.StartUsageAmount < 0 || math.IsNaN(t.StartUsageAmount) || math.IsInf(t.StartUsageAmount, 0) ||
			(i > 0 && t.StartUsageAmount <= e.TieredRates[i-1].StartUsageAmount) {
			return fmt.Errorf("tieredRates[%d]: startUsageAmount %v does not ascend from a non-negative start", i, t.StartUsageAmount)
		}
	}
	return nil
}

// UnitPrice returns the price per unit for the next unit once usage units
// have been used in the aggregation interval: the rate of the tier that
// usage falls in. Usage below the first tier's start is free.
func (e PricingExpression) UnitPrice(usage float64) float64 {
	price := 0.0
	for _, t := range e.TieredRates {
		if usage < t.StartUsageAmount {
			break
		}
		price = t.UnitPrice.Value()
	}
	return price
}

// Cost returns the total price of usage units, each tier's rate applying to
// the part of usage within that tier.
func (e PricingExpression) Cost(usage float64) float64 {
	total := 0.0
	for i, t := range e.TieredRates {
		if usage <= t.StartUsageAmount {
			break
		}
		end := usage
		if i+1 < len(e.TieredRates) {
			end = min(usage, e.TieredRates[i+1].StartUsageAmount)
		}
		total += (end - t.StartUsageAmount) * t.UnitPrice.Value()
	}
	return total
}

// Current returns the pricing in effect at time at: the PricingInfo with
// the latest EffectiveTime not after at. The API returns only the current
// one unless asked for history.
func (s SKU) Current(at time.Time) (PricingInfo, bool) {
	var best PricingInfo
	found := false
	for _, pi := range s.PricingInfo {
		if pi.EffectiveTime.After(at) {
			continue
		}
		if !found || pi.EffectiveTime.After(best.EffectiveTime) {
			best, found = pi, true
		}
	}
	return best, found
}

// Find returns the on-demand SKU with the given description that serves
// region.
func Find(skus []SKU, description, region string) (SKU, bool) {
	for _, s := range skus {
		if s.Description == description && s.Category.UsageType == "OnDemand" && slices.Contains(s.ServiceRegions, region) {
			return s, true
		}
	}
	return SKU{}, false
}
