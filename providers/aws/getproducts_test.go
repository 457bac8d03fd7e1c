package aws_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/providers/aws"
)

// summary is the part of a parsed product the tests pin down.
type summary struct {
	SKU, Family, Region, Type, Volume string
	LinuxOnDemand                     bool
	Unit                              string
	USD                               float64
	Published                         time.Time
	Dimensions                        int
}

func summarize(p aws.Product) summary {
	s := summary{
		SKU: p.SKU, Family: p.ProductFamily, Region: p.Region(),
		Type: p.Attributes["instanceType"], Volume: p.Attributes["volumeApiName"],
		LinuxOnDemand: p.LinuxOnDemand(), Published: p.PublicationDate, Dimensions: len(p.OnDemand),
	}
	for _, unit := range []string{"Hrs", "GB-Mo"} {
		if v, ok := p.Price(unit); ok {
			s.Unit, s.USD = unit, v
		}
	}
	return s
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseGetProducts(t *testing.T) {
	cases := map[string]struct {
		reason string
		file   string
		want   []summary
	}{
		"a1.large": {
			reason: "A full response envelope whose one PriceList element is a JSON-encoded string.",
			file:   "getproducts-response_a1.large_us-east-1_pub2022-07-07.json",
			want: []summary{{SKU: "ADBPAJMF8TT82XWT", Family: "Compute Instance", Region: "us-east-1", Type: "a1.large",
				LinuxOnDemand: true, Unit: "Hrs", USD: 0.051, Published: date(2022, 7, 7, 23, 42, 52), Dimensions: 1}},
		},
		"m4.large": {
			reason: "The eu-central-1 instance the catalog prices AWS Frankfurt from.",
			file:   "getproducts-response_m4.large_eu-central-1_pub2022-07-07.json",
			want: []summary{{SKU: "ABFDCPB959KUGRH8", Family: "Compute Instance", Region: "eu-central-1", Type: "m4.large",
				LinuxOnDemand: true, Unit: "Hrs", USD: 0.12, Published: date(2022, 7, 7, 23, 42, 52), Dimensions: 1}},
		},
		"ebs gp2": {
			reason: "A storage product is priced per GB-month and is not an instance.",
			file:   "getproducts-response_ebs-gp2_eu-central-1_pub2022-07-07.json",
			want: []summary{{SKU: "WHD78M63XVBREKT5", Family: "Storage", Region: "eu-central-1", Volume: "gp2",
				Unit: "GB-Mo", USD: 0.119, Published: date(2022, 7, 7, 23, 42, 52), Dimensions: 1}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := aws.ParseGetProducts(readFile(t, tc.file))
			if err != nil {
				t.Fatalf("%s\nParseGetProducts: %v", tc.reason, err)
			}
			var got []summary
			for _, p := range resp.Products {
				got = append(got, summarize(p))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParseGetProducts(%s) mismatch (-want +got):\n%s", tc.reason, tc.file, diff)
			}
			if resp.FormatVersion != "aws_v1" {
				t.Errorf("FormatVersion = %q, want aws_v1", resp.FormatVersion)
			}
		})
	}
}

func TestParsePriceListItem(t *testing.T) {
	// This item predates the regionCode and marketoption attributes, and
	// carries twelve Reserved terms that must not leak into OnDemand.
	p, err := aws.ParsePriceListItem(readFile(t, "getproducts-pricelist-item_m5.large_us-east-1_pub2021-02-05.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := summary{SKU: "6C86BEPQVG73ZGGR", Family: "Compute Instance", Region: "us-east-1", Type: "m5.large",
		LinuxOnDemand: true, Unit: "Hrs", USD: 0.096, Published: date(2021, 2, 5, 20, 45, 0), Dimensions: 1}
	if diff := cmp.Diff(want, summarize(p)); diff != "" {
		t.Errorf("ParsePriceListItem mismatch (-want +got):\n%s", diff)
	}
}

func TestLinuxOnDemand(t *testing.T) {
	base, err := aws.ParsePriceListItem(readFile(t, "getproducts-pricelist-item_m5.large_us-east-1_pub2021-02-05.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason string
		attr   string
		value  string
		want   bool
	}{
		"as published":   {"The recorded Linux item is the price we want.", "", "", true},
		"windows":        {"Windows carries a licence surcharge.", "operatingSystem", "Windows", false},
		"dedicated":      {"Dedicated tenancy is priced differently.", "tenancy", "Dedicated", false},
		"with sql":       {"Pre-installed software adds to the price.", "preInstalledSw", "SQL Std", false},
		"reservation":    {"Capacity reservations are not on-demand usage.", "capacitystatus", "UnusedCapacityReservation", false},
		"spot market":    {"A non-on-demand market option is excluded when present.", "marketoption", "Spot", false},
		"on-demand flag": {"An explicit OnDemand market option is kept.", "marketoption", "OnDemand", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := base
			p.Attributes = make(map[string]string, len(base.Attributes))
			for k, v := range base.Attributes {
				p.Attributes[k] = v
			}
			if tc.attr != "" {
				p.Attributes[tc.attr] = tc.value
			}
			if got := p.LinuxOnDemand(); got != tc.want {
				t.Errorf("%s\nLinuxOnDemand() = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

func TestParseGetProductsErrors(t *testing.T) {
	item := func(price, begin, end string) string {
		return `{"product":{"sku":"X","productFamily":"Compute Instance","attributes":{}},` +
			`"terms":{"OnDemand":{"X.T":{"sku":"X","priceDimensions":{"X.T.R":{"unit":"Hrs","beginRange":"` + begin +
			`","endRange":"` + end + `","pricePerUnit":{"USD":"` + price + `"}}}}}}}`
	}
	cases := map[string]struct {
		reason string
		body   string
		want   string
	}{
		"not json":        {"Garbage must not parse.", `<html>`, "aws getproducts"},
		"no price list":   {"An envelope without PriceList is not a GetProducts response.", `{"FormatVersion":"aws_v1"}`, "no PriceList"},
		"bad string":      {"A PriceList string must hold JSON.", `{"PriceList":["{not json"]}`, "PriceList[0]"},
		"no sku":          {"A product without a SKU cannot be traced.", `{"PriceList":[{"product":{}}]}`, "product.sku"},
		"no usd":          {"Only USD prices are usable.", `{"PriceList":[` + strings.Replace(item("1", "0", "Inf"), `"USD"`, `"CNY"`, 1) + `]}`, "no USD price"},
		"negative price":  {"A negative price is corrupt.", `{"PriceList":[` + item("-0.1", "0", "Inf") + `]}`, "pricePerUnit.USD"},
		"text price":      {"A price must be a decimal.", `{"PriceList":[` + item("free", "0", "Inf") + `]}`, "pricePerUnit.USD"},
		"inverted range":  {"A tier must not end before it begins.", `{"PriceList":[` + item("0.1", "10", "5") + `]}`, "below beginRange"},
		"bad publication": {"Dates are RFC 3339.", `{"PriceList":[{"product":{"sku":"X"},"publicationDate":"yesterday"}]}`, "publicationDate"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := aws.ParseGetProducts([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nParseGetProducts(%s) error = %v, want one containing %q", tc.reason, tc.body, err, tc.want)
			}
		})
	}
}

func TestPriceTiered(t *testing.T) {
	body := `{"PriceList":[{"product":{"sku":"X"},"terms":{"OnDemand":{"X.T":{"priceDimensions":{` +
		`"b":{"unit":"GB","beginRange":"10240","endRange":"Inf","pricePerUnit":{"USD":"0.085"}},` +
		`"a":{"unit":"GB","beginRange":"0","endRange":"10240","pricePerUnit":{"USD":"0.09"}}}}}}}]}`
	resp, err := aws.ParseGetProducts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Products[0]
	if v, ok := p.Price("GB"); ok {
		t.Errorf("Price(GB) = %v, true for a tiered price; want false, as there is no single value", v)
	}
	got := []float64{p.OnDemand[0].BeginRange, p.OnDemand[1].BeginRange, p.OnDemand[1].EndRange}
	if diff := cmp.Diff([]float64{0, 10240, math.Inf(1)}, got); diff != "" {
		t.Errorf("dimensions are not in tier order (-want +got):\n%s", diff)
	}
}

func FuzzParseGetProducts(f *testing.F) {
	for _, name := range []string{
		"getproducts-response_a1.large_us-east-1_pub2022-07-07.json",
		"getproducts-response_m4.large_eu-central-1_pub2022-07-07.json",
		"getproducts-response_ebs-gp2_eu-central-1_pub2022-07-07.json",
	} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(`{"PriceList":[{"product":{"sku":"X"},"terms":{"OnDemand":{"X.T":{"priceDimensions":{"d":{"unit":"Hrs","beginRange":"0","endRange":"Inf","pricePerUnit":{"USD":"1e308"}}}}}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := aws.ParseGetProducts(b)
		if err != nil {
			return
		}
		for _, p := range resp.Products {
			checkProduct(t, p)
		}
	})
}

func FuzzParsePriceListItem(f *testing.F) {
	f.Add(readFile(f, "getproducts-pricelist-item_m5.large_us-east-1_pub2021-02-05.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := aws.ParsePriceListItem(b)
		if err != nil {
			return
		}
		checkProduct(t, p)
	})
}

// checkProduct asserts what every successfully parsed product guarantees.
func checkProduct(t *testing.T, p aws.Product) {
	t.Helper()
	if p.SKU == "" {
		t.Error("parsed product without SKU")
	}
	for _, d := range p.OnDemand {
		if d.USD < 0 || math.IsNaN(d.USD) || math.IsInf(d.USD, 0) || d.EndRange < d.BeginRange {
			t.Errorf("parsed dimension %+v breaks the parser's guarantees", d)
		}
	}
}

func date(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}
