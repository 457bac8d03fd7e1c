package gcp_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/providers/gcp"
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
	providertest.Run(t, gcp.New(), mustCatalog(t))
}

// TestPayloadsMatchCatalog reads the recorded SKUs with the parser and checks
// them against the reference extract. The A2 Americas core and RAM SKUs are
// also the catalog's CPU:RAM split and, since n2-standard-2 costs exactly
// 2 cores + 8 GiB at those rates, the catalog's us-central1 rates.
func TestPayloadsMatchCatalog(t *testing.T) {
	c := mustCatalog(t)
	ref := providertest.LoadReference(t)
	skus := mustSKUs(t, computeFile).SKUs
	price := func(desc, region string) float64 {
		t.Helper()
		s, ok := gcp.Find(skus, desc, region)
		if !ok {
			t.Fatalf("no on-demand SKU %q in %s", desc, region)
		}
		return s.PricingInfo[0].PricingExpression.UnitPrice(1e6)
	}
	central, ok := c.Entry(meridian.ProviderGCP, "us-central1")
	if !ok {
		t.Fatal("catalog has no gcp/us-central1")
	}
	cases := map[string]struct {
		got  float64
		ref  providertest.Query
		also []float64
	}{
		"A2 core": {price("A2 Instance Core running in Americas", "us-central1"),
			providertest.Query{Category: "unit-rate", Provider: "gcp", Region: "us-central1", Item: "A2 Instance Core running in Americas", Source: "S10"},
			[]float64{c.Split().VCPUWeight, central.VCPUHour}},
		"A2 ram": {price("A2 Instance Ram running in Americas", "us-central1"),
			providertest.Query{Category: "unit-rate", Provider: "gcp", Region: "us-central1", Item: "A2 Instance Ram running in Americas", Source: "S10"},
			[]float64{c.Split().GiBWeight, central.GiBHour}},
		"N2D core": {price("N2D AMD Instance Core running in Americas", "us-east1"),
			providertest.Query{Category: "unit-rate", Provider: "gcp", Region: "us-east1", Item: "N2D AMD Instance Core running in Americas", Source: "S10"}, nil},
		"T2D ram Frankfurt": {price("T2D AMD Instance Ram running in Frankfurt", "europe-west3"),
			providertest.Query{Category: "unit-rate", Provider: "gcp", Region: "europe-west3", Item: "T2D AMD Instance Ram running in Frankfurt", Source: "S10"}, nil},
		"PD capacity past free tier": {price("Storage PD Capacity", "us-central1"),
			providertest.Query{Category: "storage", Provider: "gcp", Region: "us-central1", Item: "Storage PD Capacity (PDStandard)", Source: "S10"}, nil},
	}
	for name, tc := range cases {
		if want := ref.One(t, tc.ref).Value(t); tc.got != want {
			t.Errorf("%s: parsed %v, reference extract lists %v", name, tc.got, want)
		}
		for _, v := range tc.also {
			if tc.got != v {
				t.Errorf("%s: parsed %v, catalog has %v", name, tc.got, v)
			}
		}
	}

	// The tiered egress SKU against the extract's "a / b / c" row.
	e := mustSKUs(t, egressFile).SKUs[0].PricingInfo[0].PricingExpression
	row := ref.One(t, providertest.Query{Category: "egress", Provider: "gcp", Region: "us-east1", Source: "S9"})
	for i, s := range strings.Split(row.Price, " / ") {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.TieredRates[i].UnitPrice.Value(); got != want {
			t.Errorf("egress tier %d: parsed %v, reference extract lists %v", i, got, want)
		}
	}
}
