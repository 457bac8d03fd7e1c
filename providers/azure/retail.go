package azure

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Page is one page of a Retail Prices API response.
type Page struct {
	BillingCurrency    string `json:"BillingCurrency"`
	CustomerEntityID   string `json:"CustomerEntityId"`
	CustomerEntityType string `json:"CustomerEntityType"`
	Items              []Item `json:"Items"`
	// NextPageLink is the URL of the next page, or "" on the last page.
	NextPageLink string `json:"NextPageLink"`
	Count        *int   `json:"Count"`
}

// Item is one meter's price.
type Item struct {
	CurrencyCode         string    `json:"currencyCode"`
	TierMinimumUnits     float64   `json:"tierMinimumUnits"`
	RetailPrice          float64   `json:"retailPrice"`
	UnitPrice            float64   `json:"unitPrice"`
	ArmRegionName        string    `json:"armRegionName"`
	Location             string    `json:"location"`
	EffectiveStartDate   time.Time `json:"effectiveStartDate"`
	MeterID              string    `json:"meterId"`
	MeterName            string    `json:"meterName"`
	ProductID            string    `json:"productId"`
	SkuID                string    `json:"skuId"`
	ProductName          string    `json:"productName"`
	SkuName              string    `json:"skuName"`
	ServiceName          string    `json:"serviceName"`
	ServiceID            string    `json:"serviceId"`
	ServiceFamily        string    `json:"serviceFamily"`
	UnitOfMeasure        string    `json:"unitOfMeasure"`
	Type                 string    `json:"type"`
	IsPrimaryMeterRegion bool      `json:"isPrimaryMeterRegion"`
	ArmSkuName           string    `json:"armSkuName"`
}

// ParsePage parses one Retail Prices API page. It rejects negative or
// non-finite prices and a Count that disagrees with the items received,
// which would mean a truncated page.
func ParsePage(b []byte) (Page, error) {
	var p Page
	if err := json.Unmarshal(b, &p); err != nil {
		return Page{}, fmt.Errorf("azure retail prices: %w", err)
	}
	if p.Items == nil {
		return Page{}, fmt.Errorf("azure retail prices: no Items")
	}
	if p.Count != nil && *p.Count != len(p.Items) {
		return Page{}, fmt.Errorf("azure retail prices: Count is %d but the page has %d items", *p.Count, len(p.Items))
	}
	for i, it := range p.Items {
		for _, v := range []float64{it.RetailPrice, it.UnitPrice, it.TierMinimumUnits} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return Page{}, fmt.Errorf("azure retail prices: Items[%d] (%s %s): negative or non-finite price", i, it.ArmRegionName, it.MeterName)
			}
		}
	}
	return p, nil
}

// Windows reports whether the item is a Windows VM meter, which includes a
// licence surcharge; Azure names those products "... Windows".
func (it Item) Windows() bool { return strings.HasSuffix(it.ProductName, " Windows") }

// Spot reports whether the item is a Spot VM price.
func (it Item) Spot() bool { return strings.HasSuffix(it.SkuName, " Spot") }

// LowPriority reports whether the item is a (retired) Low Priority VM price.
func (it Item) LowPriority() bool { return strings.HasSuffix(it.MeterName, " Low Priority") }

// OnDemandLinux reports whether the item is a plain pay-as-you-go USD price
// of a Linux VM: type Consumption, and neither Windows, Spot nor Low
// Priority.
func (it Item) OnDemandLinux() bool {
	return it.Type == "Consumption" && it.CurrencyCode == "USD" && it.ServiceName == "Virtual Machines" &&
		!it.Windows() && !it.Spot() && !it.LowPriority()
}

// VMHour returns the on-demand Linux price per hour of VM size armSkuName
// (e.g. "Standard_D2s_v5") in region. It returns false when items hold no
// such price, or several that disagree.
func VMHour(items []Item, region, armSkuName string) (float64, bool) {
	return single(items, func(it Item) bool {
		return it.OnDemandLinux() && it.ArmRegionName == region && it.ArmSkuName == armSkuName && it.UnitOfMeasure == "1 Hour"
	})
}

// DiskMonth returns the monthly price of one managed disk of tier skuName
// (e.g. "P15 LRS") in region: the "<sku> Disk" meter, leaving out the
// separate mount, operations and other meters of the same SKU.
func DiskMonth(items []Item, region, skuName string) (float64, bool) {
	return single(items, func(it Item) bool {
		return it.Type == "Consumption" && it.CurrencyCode == "USD" && it.ArmRegionName == region &&
			it.SkuName == skuName && it.MeterName == skuName+" Disk" && it.UnitOfMeasure == "1/Month"
	})
}

func single(items []Item, keep func(Item) bool) (float64, bool) {
	price, found := 0.0, false
	for _, it := range items {
		if !keep(it) {
			continue
		}
		if found && it.RetailPrice != price {
			return 0, false
		}
		price, found = it.RetailPrice, true
	}
	return price, found
}

// diskTierGiB are the provisioned sizes of the managed disk tiers that the
// recorded pages price. The Retail Prices API does not carry them; they are
// Azure's published tier sizes, and match the names of the directories the
// recorded pages came from (disk_premium_ssd_256gb, disk_standard_lrs_128gb).
var diskTierGiB = map[string]float64{
	"P15": 256,
	"S10": 128,
}

// DiskTierGiB returns the size in GiB of a managed disk tier such as "P15"
// or "P15 LRS", and false for a tier it does not know.
func DiskTierGiB(tier string) (float64, bool) {
	tier, _, _ = strings.Cut(tier, " ")
	g, ok := diskTierGiB[tier]
	return g, ok
}
