package aws_test

import (
	"math"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/providers/aws"
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
	providertest.Run(t, aws.New(), mustCatalog(t))
}

// TestPayloadsMatchCatalog reads each recorded GetProducts payload with the
// parser and checks the number against the reference extract, and against
// the catalog where the catalog is built from that very product.
func TestPayloadsMatchCatalog(t *testing.T) {
	c := mustCatalog(t)
	ref := providertest.LoadReference(t)
	frankfurt, ok := c.Entry(meridian.ProviderAWS, "eu-central-1")
	if !ok {
		t.Fatal("catalog has no aws/eu-central-1")
	}
	cases := map[string]struct {
		reason  string
		file    string
		item    bool
		unit    string
		ref     providertest.Query
		catalog float64 // 0 when the catalog does not use this product
	}{
		"m5.large us-east-1": {
			reason: "The decoded item agrees with the extract (S3) and with karpenter's table (S1).",
			file:   "getproducts-pricelist-item_m5.large_us-east-1_pub2021-02-05.json", item: true, unit: "Hrs",
			ref: providertest.Query{Category: "compute", Provider: "aws", Region: "us-east-1", Item: "m5.large", Source: "S3"},
		},
		"a1.large us-east-1": {
			reason: "A full envelope; a1.large is 2 vCPU / 4 GiB, so only a cross-check.",
			file:   "getproducts-response_a1.large_us-east-1_pub2022-07-07.json", unit: "Hrs",
			ref: providertest.Query{Category: "compute", Provider: "aws", Region: "us-east-1", Item: "a1.large", Source: "S4"},
		},
		"m4.large eu-central-1": {
			reason: "The catalog's Frankfurt compute rates are split from this product.",
			file:   "getproducts-response_m4.large_eu-central-1_pub2022-07-07.json", unit: "Hrs",
			ref:     providertest.Query{Category: "compute", Provider: "aws", Region: "eu-central-1", Item: "m4.large", Source: "S4"},
			catalog: frankfurt.Instance.Hour,
		},
		"gp2 eu-central-1": {
			reason: "The catalog's Frankfurt storage rate is this product's price.",
			file:   "getproducts-response_ebs-gp2_eu-central-1_pub2022-07-07.json", unit: "GB-Mo",
			ref:     providertest.Query{Category: "storage", Provider: "aws", Region: "eu-central-1", Item: "EBS gp2", Source: "S4"},
			catalog: frankfurt.StorageGBMonth.Value,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var products []aws.Product
			if tc.item {
				p, err := aws.ParsePriceListItem(readFile(t, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				products = []aws.Product{p}
			} else {
				resp, err := aws.ParseGetProducts(readFile(t, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				products = resp.Products
			}
			if len(products) != 1 {
				t.Fatalf("%d products, want 1", len(products))
			}
			got, ok := products[0].Price(tc.unit)
			if !ok {
				t.Fatalf("no flat %s price", tc.unit)
			}
			if want := ref.One(t, tc.ref).Value(t); got != want {
				t.Errorf("%s\nparsed %v, reference extract lists %v", tc.reason, got, want)
			}
			if tc.catalog != 0 && got != tc.catalog {
				t.Errorf("%s\nparsed %v, catalog has %v", tc.reason, got, tc.catalog)
			}
		})
	}
}

// TestCatalogAgainstUnlicensedCrossCheck compares each AWS catalog instance
// price with the m6i.large price S2 lists for that region. S2 has no
// licence, so it may only be used this way; a gap above 5% would mean the
// catalog's choice of instance or snapshot needs a second look.
func TestCatalogAgainstUnlicensedCrossCheck(t *testing.T) {
	c := mustCatalog(t)
	ref := providertest.LoadReference(t)
	for _, region := range c.Regions(meridian.ProviderAWS) {
		e, _ := c.Entry(meridian.ProviderAWS, region)
		s2 := ref.One(t, providertest.Query{Category: "compute", Provider: "aws", Region: region, Item: "m6i.large", Source: "S2"}).Value(t)
		if gap := math.Abs(e.Instance.Hour-s2) / s2; gap > 0.05 {
			t.Errorf("aws/%s: catalog %s %v differs from S2 m6i.large %v by %.1f%%", region, e.Instance.Type, e.Instance.Hour, s2, 100*gap)
		}
	}
}

func TestRegionOfLocation(t *testing.T) {
	for loc, want := range map[string]string{
		"US East (N. Virginia)": "us-east-1",
		"EU (Frankfurt)":        "eu-central-1",
		"Mars (Olympus Mons)":   "",
	} {
		if got, _ := aws.RegionOfLocation(loc); got != want {
			t.Errorf("RegionOfLocation(%q) = %q, want %q", loc, got, want)
		}
	}
}
