package gcp_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/providers/gcp"
)

const (
	computeFile = "cloudbilling-skus_compute-engine_sample_2023-03.json"
	egressFile  = "cloudbilling-sku_vpn-internet-egress_tiered_2021-11.json"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustSKUs(tb testing.TB, name string) gcp.SKUList {
	tb.Helper()
	l, err := gcp.ParseSKUs(readFile(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func TestParseSKUs(t *testing.T) {
	l := mustSKUs(t, computeFile)
	type row struct {
		ID, Group, Unit string
		Tiers           []float64
	}
	var got []row
	for _, s := range l.SKUs {
		r := row{ID: s.SKUID, Group: s.Category.ResourceGroup, Unit: s.PricingInfo[0].PricingExpression.UsageUnit}
		for _, tr := range s.PricingInfo[0].PricingExpression.TieredRates {
			r.Tiers = append(r.Tiers, tr.StartUsageAmount, tr.UnitPrice.Value())
		}
		got = append(got, r)
	}
	want := []row{
		{"A03E-E620-7389", "CPU", "h", []float64{0, 0.027502}},
		{"5535-6D2D-4B50", "RAM", "GiBy.h", []float64{0, 0.003686}},
		{"5CE5-087B-6C3C", "F1Micro", "h", []float64{0, 0.0076}},
		{"56BE-7687-FE88", "CPU", "h", []float64{0, 0.0348}},
		{"682E-93BF-F222", "RAM", "GiBy.h", []float64{0, 0.0051}},
		{"2922-40C5-B19F", "CPU", "h", []float64{0, 0.031611}},
		{"2390-DCAF-DA38", "RAM", "GiBy.h", []float64{0, 0.004237}},
		{"40DE-6073-970E", "RAM", "GiBy.h", []float64{0, 0.0051}},
		{"2898-B9EC-B5B3", "CPU", "h", []float64{0, 0.038088}},
		{"470D-96E2-88F1", "CPU", "h", []float64{0, 0.04483632}},
		{"6E51-040E-D918", "RAM", "GiBy.h", []float64{0, 0.00657084}},
		{"B260-618D-1521", "CPU", "h", []float64{0, 0.035435}},
		{"E639-283C-5F35", "RAM", "GiBy.h", []float64{0, 0.004748}},
		{"3C62-891B-C73C", "PDStandard", "GiBy.mo", []float64{0, 0.08}},
		{"D973-5D65-BAB2", "PDStandard", "GiBy.mo", []float64{0, 0, 30, 0.04}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSKUs mismatch (-want +got):\n%s", diff)
	}
	if l.NextPageToken == "" {
		t.Error("NextPageToken lost")
	}
}

func TestTieredRates(t *testing.T) {
	s := mustSKUs(t, egressFile).SKUs[0]
	pi, ok := s.Current(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !ok {
		t.Fatal("no current pricing")
	}
	if _, ok := s.Current(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("Current before the effective time found a price")
	}
	e := pi.PricingExpression
	cases := map[string]struct {
		reason        string
		usage         float64
		unit, cost    float64
		costTolerance float64
	}{
		"first GiB":      {"The first tier starts at zero.", 0, 0.12, 0, 0},
		"inside tier 1":  {"Below 1 TiB every GiB costs 0.12.", 500, 0.12, 60, 1e-12},
		"tier boundary":  {"The 1024th GiB opens the second tier.", 1024, 0.11, 122.88, 1e-9},
		"across tiers":   {"Usage over two tiers is charged piecewise.", 2048, 0.11, 1024*0.12 + 1024*0.11, 1e-9},
		"into last tier": {"The last tier is open-ended.", 20480, 0.08, 1024*0.12 + 9216*0.11 + 10240*0.08, 1e-9},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := e.UnitPrice(tc.usage); got != tc.unit {
				t.Errorf("%s\nUnitPrice(%v) = %v, want %v", tc.reason, tc.usage, got, tc.unit)
			}
			if got := e.Cost(tc.usage); math.Abs(got-tc.cost) > tc.costTolerance {
				t.Errorf("%s\nCost(%v) = %v, want %v", tc.reason, tc.usage, got, tc.cost)
			}
		})
	}
}

func TestFreeFirstTier(t *testing.T) {
	s, ok := gcp.Find(mustSKUs(t, computeFile).SKUs, "Storage PD Capacity", "europe-west1")
	if !ok {
		t.Fatal("Storage PD Capacity not found for europe-west1")
	}
	e := s.PricingInfo[0].PricingExpression
	if got := e.UnitPrice(10); got != 0 {
		t.Errorf("UnitPrice(10 GiB) = %v, want 0 inside the free tier", got)
	}
	if got := e.Cost(100); math.Abs(got-70*0.04) > 1e-12 {
		t.Errorf("Cost(100 GiB) = %v, want 70 × 0.04", got)
	}
}

func TestParseSKUsErrors(t *testing.T) {
	sku := func(pricing string) string {
		return `{"skus":[{"skuId":"X","pricingInfo":[{"pricingExpression":{"tieredRates":` + pricing + `}}]}]}`
	}
	cases := map[string]struct {
		reason string
		body   string
		want   string
	}{
		"not json":      {"Garbage must not parse.", `<html>`, "gcp skus"},
		"no skus":       {"A response without skus is not a SKU listing.", `{}`, "no skus"},
		"no id":         {"A SKU without id cannot be traced.", `{"skus":[{}]}`, "skuId"},
		"no tiers":      {"Pricing without tiers has no price.", sku(`[]`), "no tieredRates"},
		"descending":    {"Tiers must ascend.", sku(`[{"startUsageAmount":10,"unitPrice":{"nanos":1}},{"startUsageAmount":5,"unitPrice":{"nanos":1}}]`), "does not ascend"},
		"negative":      {"Prices are never negative.", sku(`[{"unitPrice":{"units":"-1"}}]`), "negative price"},
		"units not int": {"units is an int64 in a string.", sku(`[{"unitPrice":{"units":"0.5"}}]`), "units"},
		"nanos too big": {"nanos stays below one unit.", sku(`[{"unitPrice":{"nanos":1000000000}}]`), "nanos"},
		"mixed sign":    {"units and nanos share a sign.", sku(`[{"unitPrice":{"units":"1","nanos":-5}}]`), "differ in sign"},
		"bad time":      {"effectiveTime is RFC 3339.", `{"skus":[{"skuId":"X","pricingInfo":[{"effectiveTime":"soon"}]}]}`, "gcp skus"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := gcp.ParseSKUs([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nParseSKUs(%s) error = %v, want one containing %q", tc.reason, tc.body, err, tc.want)
			}
		})
	}
}

func TestMoneyUnits(t *testing.T) {
	body := `{"skus":[{"skuId":"X","pricingInfo":[{"pricingExpression":{"tieredRates":[{"unitPrice":{"units":12,"nanos":500000000}}]}}]}]}`
	l, err := gcp.ParseSKUs([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.SKUs[0].PricingInfo[0].PricingExpression.TieredRates[0].UnitPrice.Value(); got != 12.5 {
		t.Errorf("units as a JSON number: Value() = %v, want 12.5", got)
	}
}

func FuzzParseSKUs(f *testing.F) {
	f.Add(readFile(f, computeFile))
	f.Add(readFile(f, egressFile))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := gcp.ParseSKUs(b)
		if err != nil {
			return
		}
		for _, s := range l.SKUs {
			for _, pi := range s.PricingInfo {
				e := pi.PricingExpression
				// Cost never falls as usage grows, and prices are never negative.
				prev := 0.0
				for _, u := range []float64{0, 1, 30, 1024, 1e6} {
					c := e.Cost(u)
					if c < prev || math.IsNaN(c) || e.UnitPrice(u) < 0 {
						t.Fatalf("%s: Cost(%v) = %v after %v, UnitPrice %v", s.SKUID, u, c, prev, e.UnitPrice(u))
					}
					prev = c
				}
			}
		}
	})
}
