package azure_test

import (
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/providers/azure"
	"github.com/meridianhq/meridian/providers/providertest"
)

func mustCatalog(tb testing.TB) *providers.Catalog {
	tb.Helper()
	c, err := providers.DefaultCatalog()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	providertest.Run(t, azure.New(), mustCatalog(t))
}

// TestPayloadsMatchCatalog reads each recorded Retail Prices page with the
// parser and checks the number against the reference extract, and the
// catalog's eastus storage rate against the P15 page it is derived from.
func TestPayloadsMatchCatalog(t *testing.T) {
	ref := providertest.LoadReference(t)
	check := func(name string, got float64, ok bool, q providertest.Query) {
		t.Helper()
		if want := ref.One(t, q).Value(t); !ok || got != want {
			t.Errorf("%s: parsed %v, %v; reference extract lists %v", name, got, ok, want)
		}
	}
	d2s := mustPage(t, readFile(t, "retail-prices_eastus_Standard_D2s_v3_priceType-Consumption.json")).Items
	v, ok := azure.VMHour(d2s, "eastus", "Standard_D2s_v3")
	check("D2s v3 eastus (raw page, S7)", v, ok, providertest.Query{Category: "compute", Provider: "azure", Region: "eastus", Item: "Standard_D2s_v3", Source: "S7", BasisContains: "(Linux)"})
	check("D2s v3 eastus (karpenter table, S6)", v, ok, providertest.Query{Category: "compute", Provider: "azure", Region: "eastus", Item: "Standard_D2s_v3", Source: "S6"})

	b1s := mustPage(t, readFile(t, "retail-prices_northeurope_Standard_B1s.json")).Items
	v, ok = azure.VMHour(b1s, "northeurope", "Standard_B1s")
	check("B1s northeurope", v, ok, providertest.Query{Category: "compute", Provider: "azure", Region: "northeurope", Item: "Standard_B1s", Source: "S7"})

	p15 := mustPage(t, capturedPage(t, "capture_retail-prices_eastus_PremiumSSD_P15-LRS.json")).Items
	month, ok := azure.DiskMonth(p15, "eastus", "P15 LRS")
	check("P15 LRS eastus", month, ok, providertest.Query{Category: "storage", Provider: "azure", Region: "eastus", Source: "S7", BasisContains: "1/Month", Item: "Premium SSD Managed Disks P15 LRS (source dir name: disk_premium_ssd_256gb)"})

	gib, _ := azure.DiskTierGiB("P15 LRS")
	e, found := mustCatalog(t).Entry(meridian.ProviderAzure, "eastus")
	if !found {
		t.Fatal("catalog has no azure/eastus")
	}
	if got := month / gib; got != e.StorageGBMonth.Value || e.StorageGBMonth.Basis != providers.BasisDerived {
		t.Errorf("P15 LRS %v / %v GiB = %v; catalog eastus storage is %v (%s)", month, gib, got, e.StorageGBMonth.Value, e.StorageGBMonth.Basis)
	}
}
