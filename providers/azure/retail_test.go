package azure_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/providers/azure"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// capturedPage unwraps a finfocus capture file, [{"raw_query","status","body"}],
// whose body is a real Retail Prices API page. The wrapper is the recording
// tool's format, not Azure's, so it is unwrapped here rather than in the
// package.
func capturedPage(tb testing.TB, name string) []byte {
	tb.Helper()
	var caps []struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(readFile(tb, name), &caps); err != nil {
		tb.Fatal(err)
	}
	if len(caps) != 1 || caps[0].Status != 200 {
		tb.Fatalf("%s: want one capture with status 200", name)
	}
	return caps[0].Body
}

func mustPage(tb testing.TB, b []byte) azure.Page {
	tb.Helper()
	p, err := azure.ParsePage(b)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestOnDemandLinux checks the filter against the recorded D2s v3 page,
// which holds the same size as Linux and Windows, each on-demand, Spot and
// Low Priority, all of type Consumption.
func TestOnDemandLinux(t *testing.T) {
	p := mustPage(t, readFile(t, "retail-prices_eastus_Standard_D2s_v3_priceType-Consumption.json"))
	type row struct {
		Meter, Product              string
		Price                       float64
		Windows, Spot, LowPri, Keep bool
	}
	var got []row
	for _, it := range p.Items {
		got = append(got, row{it.MeterName, it.ProductName, it.RetailPrice, it.Windows(), it.Spot(), it.LowPriority(), it.OnDemandLinux()})
	}
	want := []row{
		{"D2s v3 Low Priority", "Virtual Machines DSv3 Series Windows", 0.075, true, false, true, false},
		{"D2s v3 Low Priority", "Virtual Machines DSv3 Series", 0.019, false, false, true, false},
		{"D2s v3 Spot", "Virtual Machines DSv3 Series", 0.018816, false, true, false, false},
		{"D2s v3 Spot", "Virtual Machines DSv3 Series Windows", 0.036848, true, true, false, false},
		{"D2s v3", "Virtual Machines DSv3 Series", 0.096, false, false, false, true},
		{"D2s v3", "Virtual Machines DSv3 Series Windows", 0.188, true, false, false, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classification mismatch (-want +got):\n%s", diff)
	}
	if p.NextPageLink != "" || p.BillingCurrency != "USD" {
		t.Errorf("NextPageLink = %q, BillingCurrency = %q; want last page in USD", p.NextPageLink, p.BillingCurrency)
	}
}

func TestVMHourAndDiskMonth(t *testing.T) {
	cases := map[string]struct {
		reason string
		page   []byte
		get    func([]azure.Item) (float64, bool)
		want   float64
		wantOK bool
	}{
		"D2s v3 eastus": {
			reason: "Only the Linux on-demand meter counts among six.",
			page:   readFile(t, "retail-prices_eastus_Standard_D2s_v3_priceType-Consumption.json"),
			get:    func(it []azure.Item) (float64, bool) { return azure.VMHour(it, "eastus", "Standard_D2s_v3") },
			want:   0.096, wantOK: true,
		},
		"B1s northeurope": {
			reason: "A second page, from another region.",
			page:   readFile(t, "retail-prices_northeurope_Standard_B1s.json"),
			get:    func(it []azure.Item) (float64, bool) { return azure.VMHour(it, "northeurope", "Standard_B1s") },
			want:   0.0113, wantOK: true,
		},
		"wrong region": {
			reason: "A price is never borrowed from another region.",
			page:   readFile(t, "retail-prices_northeurope_Standard_B1s.json"),
			get:    func(it []azure.Item) (float64, bool) { return azure.VMHour(it, "eastus", "Standard_B1s") },
		},
		"P15 LRS": {
			reason: "The disk meter, not the separate 1.825 mount meter of the same SKU.",
			page:   capturedPage(t, "capture_retail-prices_eastus_PremiumSSD_P15-LRS.json"),
			get:    func(it []azure.Item) (float64, bool) { return azure.DiskMonth(it, "eastus", "P15 LRS") },
			want:   38.012142, wantOK: true,
		},
		"S10 LRS": {
			reason: "The disk meter, not the per-10K operations meter.",
			page:   capturedPage(t, "capture_retail-prices_eastus_StandardHDD_S10-LRS.json"),
			get:    func(it []azure.Item) (float64, bool) { return azure.DiskMonth(it, "eastus", "S10 LRS") },
			want:   5.888, wantOK: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := tc.get(mustPage(t, tc.page).Items)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("%s\ngot %v, %v; want %v, %v", tc.reason, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestVMHourDisagreement(t *testing.T) {
	items := mustPage(t, readFile(t, "retail-prices_eastus_Standard_D2s_v3_priceType-Consumption.json")).Items
	dup := items[4]
	dup.RetailPrice = 0.2
	if v, ok := azure.VMHour(append(items, dup), "eastus", "Standard_D2s_v3"); ok {
		t.Errorf("VMHour with two different Linux prices = %v, true; want false rather than picking one", v)
	}
}

func TestDiskTierGiB(t *testing.T) {
	for tier, want := range map[string]float64{"P15": 256, "P15 LRS": 256, "S10 LRS": 128, "P99": 0} {
		if got, ok := azure.DiskTierGiB(tier); got != want || ok != (want > 0) {
			t.Errorf("DiskTierGiB(%q) = %v, %v; want %v", tier, got, ok, want)
		}
	}
}

func TestParsePageErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		body   string
		want   string
	}{
		"not json":  {"Garbage must not parse.", `<html>`, "azure retail prices"},
		"no items":  {"A page without Items is not a Retail Prices page.", `{"Count":0}`, "no Items"},
		"truncated": {"Count larger than the items means a cut-off page.", `{"Items":[],"Count":3}`, "Count is 3"},
		"negative":  {"Prices are never negative.", `{"Items":[{"retailPrice":-1}],"Count":1}`, "negative"},
		"bad date":  {"Dates are RFC 3339.", `{"Items":[{"effectiveStartDate":"June"}]}`, "azure retail prices"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := azure.ParsePage([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nParsePage(%s) error = %v, want one containing %q", tc.reason, tc.body, err, tc.want)
			}
		})
	}
}

func FuzzParsePage(f *testing.F) {
	f.Add(readFile(f, "retail-prices_eastus_Standard_D2s_v3_priceType-Consumption.json"))
	f.Add(readFile(f, "retail-prices_northeurope_Standard_B1s.json"))
	f.Add(capturedPage(f, "capture_retail-prices_eastus_PremiumSSD_P15-LRS.json"))
	f.Add(capturedPage(f, "capture_retail-prices_eastus_StandardHDD_S10-LRS.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := azure.ParsePage(b)
		if err != nil {
			return
		}
		if p.Count != nil && *p.Count != len(p.Items) {
			t.Errorf("accepted Count %d with %d items", *p.Count, len(p.Items))
		}
		for _, it := range p.Items {
			if it.RetailPrice < 0 || math.IsNaN(it.RetailPrice) || math.IsInf(it.RetailPrice, 0) {
				t.Errorf("accepted price %v", it.RetailPrice)
			}
			if it.OnDemandLinux() && (it.Windows() || it.Spot() || it.LowPriority()) {
				t.Errorf("item %+v is both on-demand Linux and excluded", it)
			}
		}
		for _, r := range []string{"eastus", ""} {
			if v, ok := azure.VMHour(p.Items, r, "Standard_D2s_v3"); ok && v < 0 {
				t.Errorf("VMHour = %v", v)
			}
		}
	})
}
