package providers_test

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
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

// sourced says which reference-extract row a catalog price must equal, after
// dividing by Div (0 means 1), and how the catalog must label it.
type sourced struct {
	Ref   providertest.Query
	Div   float64
	Basis providers.Basis
}

func q(category, provider, region, item, source string) providertest.Query {
	return providertest.Query{Category: category, Provider: provider, Region: region, Item: item, Source: source}
}

// TestCatalogRowsReproduceSources pins every shipped row to the reference
// extract independently of the catalog file: its instance price, storage
// and egress must be the extract's numbers (or the documented fallback's),
// and its per-vCPU and per-GiB rates must add back up to the instance price.
func TestCatalogRowsReproduceSources(t *testing.T) {
	const (
		egressAWS  = "Outbound data transfer to Internet (first 10TB)"
		egressGCP  = "Internet egress (dest. not China/Australia) tier 0-1 TiB"
		azureP15   = "Premium SSD Managed Disks P15 LRS (source dir name: disk_premium_ssd_256gb)"
		azureEgr   = "configs/azure.json internetNetworkEgress"
		d2sv5      = "Standard_D2s_v5"
		n2         = "n2-standard-2"
		pdBalanced = "pd-balanced"
	)
	p15 := func(b providers.Basis) sourced {
		return sourced{q("storage", "azure", "eastus", azureP15, "S7"), 256, b}
	}
	azEgress := sourced{q("unit-rate", "opencost-azure", "", azureEgr, "S11"), 0, providers.BasisFallback}
	cases := []struct {
		provider meridian.Provider
		region   string
		instance string
		compute  providertest.Query
		storage  sourced
		egress   sourced
	}{
		{"aws", "us-east-1", "m6i.large", q("compute", "aws", "us-east-1", "m6i.large", "S1"),
			sourced{q("storage", "aws", "us-east-1", "EBS gp2", "S5"), 0, providers.BasisDerived},
			sourced{q("egress", "aws", "us-east-1", egressAWS, "S5"), 0, providers.BasisDerived}},
		{"aws", "eu-central-1", "m4.large", q("compute", "aws", "eu-central-1", "m4.large", "S4"),
			sourced{q("storage", "aws", "eu-central-1", "EBS gp2", "S4"), 0, providers.BasisPublished},
			sourced{q("egress", "aws", "eu-central-1", egressAWS, "S5"), 0, providers.BasisDerived}},
		{"azure", "eastus", d2sv5, q("compute", "azure", "eastus", d2sv5, "S6"), p15(providers.BasisDerived), azEgress},
		{"azure", "westeurope", d2sv5, q("compute", "azure", "westeurope", d2sv5, "S6"), p15(providers.BasisFallback), azEgress},
		{"azure", "northeurope", d2sv5, q("compute", "azure", "northeurope", d2sv5, "S6"), p15(providers.BasisFallback), azEgress},
		{"azure", "southeastasia", d2sv5, q("compute", "azure", "southeastasia", d2sv5, "S6"), p15(providers.BasisFallback), azEgress},
		{"azure", "centralus", d2sv5, q("compute", "azure", "centralus", d2sv5, "S6"), p15(providers.BasisFallback), azEgress},
		{"gcp", "us-central1", n2, q("compute", "gcp", "us-central1", n2, "S8"),
			sourced{q("storage", "gcp", "us-central1", pdBalanced, "S8"), 0, providers.BasisPublished},
			sourced{q("egress", "gcp", "us-central1", egressGCP, "S8"), 0, providers.BasisPublished}},
		{"gcp", "us-east1", n2, q("compute", "gcp", "us-east1", n2, "S8"),
			sourced{q("storage", "gcp", "us-east1", pdBalanced, "S8"), 0, providers.BasisPublished},
			sourced{q("egress", "gcp", "us-east1", egressGCP, "S8"), 0, providers.BasisPublished}},
		{"gcp", "europe-west1", n2, q("compute", "gcp", "europe-west1", n2, "S8"),
			sourced{q("storage", "gcp", "europe-west1", pdBalanced, "S8"), 0, providers.BasisPublished},
			sourced{q("egress", "gcp", "europe-west1", egressGCP, "S8"), 0, providers.BasisPublished}},
		{"gcp", "asia-southeast1", n2, q("compute", "gcp", "asia-southeast1", n2, "S8"),
			sourced{q("storage", "gcp", "asia-southeast1", pdBalanced, "S8"), 0, providers.BasisPublished},
			sourced{q("egress", "gcp", "asia-southeast1", egressGCP, "S8"), 0, providers.BasisPublished}},
	}
	c := mustCatalog(t)
	ref := providertest.LoadReference(t)

	// The table is the whole catalog: no row more, no row less.
	wantRegions := map[meridian.Provider][]string{}
	for _, tc := range cases {
		wantRegions[tc.provider] = append(wantRegions[tc.provider], tc.region)
	}
	for p, want := range wantRegions {
		slices.Sort(want)
		if diff := cmp.Diff(want, c.Regions(p)); diff != "" {
			t.Errorf("Regions(%s) mismatch (-want +got):\n%s", p, diff)
		}
	}

	for _, tc := range cases {
		t.Run(string(tc.provider)+"/"+tc.region, func(t *testing.T) {
			e, ok := c.Entry(tc.provider, tc.region)
			if !ok {
				t.Fatal("not in the catalog")
			}
			hour := ref.One(t, tc.compute).Value(t)
			if e.Instance.Type != tc.instance || e.Instance.Hour != hour || e.Instance.Source != tc.compute.Source {
				t.Errorf("instance = %s %v (%s), want %s %v (%s)", e.Instance.Type, e.Instance.Hour, e.Instance.Source, tc.instance, hour, tc.compute.Source)
			}
			if got := 2*e.VCPUHour + 8*e.GiBHour; math.Abs(got-hour) > 1e-9 {
				t.Errorf("2 × %v + 8 × %v = %v, want the %s price %v", e.VCPUHour, e.GiBHour, got, tc.instance, hour)
			}
			if got, want := e.VCPUHour/e.GiBHour, 0.031611/0.004237; math.Abs(got-want) > 1e-6 {
				t.Errorf("vcpu_hour / gib_hour = %v, want the opencost ratio %v", got, want)
			}
			for _, p := range []struct {
				name string
				got  providers.Price
				want sourced
			}{{"storage", e.StorageGBMonth, tc.storage}, {"egress", e.EgressGB, tc.egress}} {
				want := ref.One(t, p.want.Ref).Value(t)
				if p.want.Div != 0 {
					want /= p.want.Div
				}
				if p.got.Value != want || p.got.Basis != p.want.Basis || p.got.Source != p.want.Ref.Source {
					t.Errorf("%s = %v %s (%s), want %v %s (%s)", p.name, p.got.Value, p.got.Basis, p.got.Source, want, p.want.Basis, p.want.Ref.Source)
				}
			}
		})
	}
}

func TestSplitDivide(t *testing.T) {
	s := mustCatalog(t).Split()
	// The check: n2-standard-2 in us-central1 splits into exactly the
	// opencost defaults.
	v, g := s.Divide(0.097118, 2, 8)
	if math.Abs(v-0.031611) > 1e-15 || math.Abs(g-0.004237) > 1e-15 {
		t.Errorf("Divide(0.097118, 2, 8) = %v, %v; want 0.031611, 0.004237", v, g)
	}
	// Any shape adds back up.
	v, g = s.Divide(1.5, 4, 32)
	if got := 4*v + 32*g; math.Abs(got-1.5) > 1e-12 {
		t.Errorf("Divide(1.5, 4, 32) adds up to %v", got)
	}
}

func TestProvenance(t *testing.T) {
	want := "meridian-catalog 2026-12-05: USD on-demand list prices for 11 regions from public snapshots " +
		"S1 2026-07-20, S4 2022-07-07, S5, S6 2026-06-18, S7, S8 2026-07-30, S11 2024-10-25; " +
		"per-vCPU and per-GiB rates split from one general-purpose instance price per region at 0.031611:0.004237 (S11); " +
		"4 storage/egress prices derived and 9 fallbacks, marked per row; see docs/pricing.md"
	if diff := cmp.Diff(want, mustCatalog(t).Provenance()); diff != "" {
		t.Errorf("Provenance() mismatch (-want +got):\n%s", diff)
	}
}

func TestRegionsIsACopy(t *testing.T) {
	c := mustCatalog(t)
	rs := c.Regions(meridian.ProviderGCP)
	rs[0] = "changed"
	if c.Regions(meridian.ProviderGCP)[0] == "changed" {
		t.Error("Regions returns the catalog's own slice")
	}
	if rs := c.Regions(meridian.ProviderOnPrem); len(rs) != 0 {
		t.Errorf("Regions(onprem) = %v, want none", rs)
	}
}

func TestSourcesAndRates(t *testing.T) {
	c := mustCatalog(t)
	s, ok := c.Source("S2")
	if !ok || !s.CrossCheckOnly {
		t.Errorf("Source(S2) = %+v, %v; want it listed as cross-check only", s, ok)
	}
	got, ok := c.Rates(meridian.ProviderAWS, "us-east-1")
	want := meridian.Rates{VCPUHour: 0.031247101464, GiBHour: 0.004188224634, EgressGB: 0.09, StorageGBMonth: 0.1, Source: "catalog:aws/us-east-1"}
	if !ok || got != want {
		t.Errorf("Rates(aws, us-east-1) = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := c.Rates(meridian.ProviderAWS, "us-west-2"); ok {
		t.Error("Rates(aws, us-west-2) found a price; no licensed source gives one")
	}
}

// mutate returns the embedded catalog with edit applied to its JSON form.
func mutate(t *testing.T, edit func(cat map[string]any)) []byte {
	t.Helper()
	var cat map[string]any
	if err := json.Unmarshal(providers.EmbeddedCatalog(), &cat); err != nil {
		t.Fatal(err)
	}
	edit(cat)
	b, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func row(cat map[string]any, i int) map[string]any { return cat["rows"].([]any)[i].(map[string]any) }

func TestParseCatalogRejects(t *testing.T) {
	cases := map[string]struct {
		reason string
		edit   func(map[string]any)
		want   string
	}{
		"tampered rate": {
			reason: "A hand-edited rate that no longer follows from the instance price.",
			edit:   func(c map[string]any) { row(c, 0)["vcpu_hour"] = 0.03 },
			want:   "rows[0] (aws/us-east-1): vcpu_hour, gib_hour",
		},
		"tampered instance": {
			reason: "Changing the instance price without re-deriving the rates.",
			edit:   func(c map[string]any) { row(c, 2)["instance"].(map[string]any)["hour"] = 0.1 },
			want:   "do not follow from instance hour 0.1",
		},
		"unlicensed source": {
			reason: "S2 has no licence and may only be a cross-check.",
			edit:   func(c map[string]any) { row(c, 1)["instance"].(map[string]any)["source"] = "S2" },
			want:   "source S2: is cross-check only",
		},
		"unknown source": {
			reason: "Every value must be traceable.",
			edit:   func(c map[string]any) { row(c, 0)["egress_gb"].(map[string]any)["source"] = "S99" },
			want:   `source "S99": not among`,
		},
		"silent fallback": {
			reason: "A fallback must say where it came from.",
			edit:   func(c map[string]any) { delete(row(c, 3)["storage_gb_month"].(map[string]any), "from") },
			want:   "a fallback must say where it is from",
		},
		"unexplained derivation": {
			reason: "A derived value must show its arithmetic.",
			edit:   func(c map[string]any) { delete(row(c, 0)["storage_gb_month"].(map[string]any), "note") },
			want:   "a derived price must explain itself",
		},
		"invented basis": {
			reason: "Only published, derived and fallback exist.",
			edit:   func(c map[string]any) { row(c, 0)["egress_gb"].(map[string]any)["basis"] = "estimated" },
			want:   `basis: must be published, derived or fallback, got "estimated"`,
		},
		"zero price": {
			reason: "A free cloud resource would attract every workload.",
			edit:   func(c map[string]any) { row(c, 0)["egress_gb"].(map[string]any)["price"] = 0 },
			want:   "egress_gb: price must be positive",
		},
		"duplicate row": {
			reason: "Two prices for one region would be ambiguous.",
			edit: func(c map[string]any) {
				c["rows"] = append(c["rows"].([]any), c["rows"].([]any)[0])
			},
			want: "duplicate provider and region",
		},
		"onprem row": {
			reason: "On-prem prices belong to the target, not the catalog.",
			edit:   func(c map[string]any) { row(c, 0)["provider"] = "onprem" },
			want:   `provider: must be aws, azure or gcp`,
		},
		"region spelling": {
			reason: "Region codes are lower case, as targets spell them.",
			edit:   func(c map[string]any) { row(c, 0)["region"] = "US-East-1" },
			want:   "region: must be a lower-case region code",
		},
		"currency": {
			reason: "Plans are in USD.",
			edit:   func(c map[string]any) { c["currency"] = "EUR" },
			want:   "currency: must be USD",
		},
		"unknown field": {
			reason: "A misspelt field must not be silently dropped.",
			edit:   func(c map[string]any) { row(c, 0)["storage_gb_month"].(map[string]any)["form"] = "x" },
			want:   `unknown field "form"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := providers.ParseCatalog(mutate(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nParseCatalog error = %v\nwant one containing %q", tc.reason, err, tc.want)
			}
		})
	}
}

func TestParseCatalogReportsAllProblems(t *testing.T) {
	_, err := providers.ParseCatalog(mutate(t, func(c map[string]any) {
		row(c, 0)["vcpu_hour"] = 1
		row(c, 5)["egress_gb"].(map[string]any)["source"] = "S2"
	}))
	if err == nil || !strings.Contains(err.Error(), "rows[0]") || !strings.Contains(err.Error(), "rows[5]") {
		t.Errorf("ParseCatalog error = %v; want both broken rows named", err)
	}
}

// FuzzParseCatalogFile checks what plan relies on when it reads a catalog
// from a config repo: an accepted file re-encodes to a file that parses to
// the same rows, and every per-GB rate is positive and at most the
// published price (a per-GiB price only gets smaller per GB).
func FuzzParseCatalogFile(f *testing.F) {
	f.Add(providers.EmbeddedCatalog())
	refreshed, err := os.ReadFile("testdata/catalog-refreshed.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(refreshed)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := providers.ParseCatalogFile("prices/catalog.json", b)
		if err != nil {
			return
		}
		for _, e := range c.Entries() {
			r := e.Rates()
			if !(r.StorageGBMonth > 0) || r.StorageGBMonth > e.StorageGBMonth.Value ||
				!(r.EgressGB > 0) || r.EgressGB > e.EgressGB.Value {
				t.Fatalf("row %s/%s: rates %+v do not follow from %+v and %+v", e.Provider, e.Region, r, e.StorageGBMonth, e.EgressGB)
			}
		}
		again, err := c.File().Encode()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := providers.ParseCatalogFile("prices/catalog.json", again)
		if err != nil {
			t.Fatalf("re-encoded catalog does not parse: %v", err)
		}
		if diff := cmp.Diff(c.Entries(), c2.Entries(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed rows (-first +second):\n%s", diff)
		}
	})
}

func TestParseRefreshedCatalog(t *testing.T) {
	b, err := os.ReadFile("testdata/catalog-refreshed.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := providers.ParseCatalogFile("prices/catalog.json", b)
	if err != nil {
		t.Fatal(err)
	}
	if c.FetchedAt() != "2026-12-05T01:00:00Z" {
		t.Errorf("FetchedAt = %q", c.FetchedAt())
	}
	if p := c.Provenance(); !strings.HasSuffix(p, "; file prices/catalog.json sha256:"+c.Digest()[:16]+" fetched 2026-12-05T01:00:00Z") {
		t.Errorf("Provenance = %q, want the file, digest and fetch time at the end", p)
	}
	e, _ := c.Entry(meridian.ProviderGCP, "us-central1")
	if got, want := e.Rates().StorageGBMonth, 0.04*1e9/(1<<30); math.Abs(got-want) > 1e-15 {
		t.Errorf("storage per GB = %v, want %v (0.04 per GiB-month)", got, want)
	}
	if !slices.Equal(e.Instance.SKUs, []string{"2922-40C5-B19F", "2390-DCAF-DA38"}) {
		t.Errorf("instance SKUs = %v", e.Instance.SKUs)
	}
	for name, edit := range map[string]func(cat map[string]any){
		"bad unit":       func(cat map[string]any) { row(cat, 0)["storage_gb_month"].(map[string]any)["unit"] = "TB-month" },
		"bad fetched_at": func(cat map[string]any) { cat["fetched_at"] = "yesterday" },
		"derived instance without note": func(cat map[string]any) {
			in := row(cat, 0)["instance"].(map[string]any)
			in["basis"] = "derived"
			delete(in, "note")
		},
	} {
		if _, err := providers.ParseCatalog(mutate(t, edit)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add(providers.EmbeddedCatalog())
	f.Add([]byte(`{"name":"x","version":"v","currency":"USD","split":{"vcpu_weight":1,"gib_weight":1,"source":"A"},"sources":[{"id":"A","licence":"MIT"}],"rows":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := providers.ParseCatalog(b)
		if err != nil {
			return
		}
		for _, p := range []meridian.Provider{meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP} {
			for _, r := range c.Regions(p) {
				e, ok := c.Entry(p, r)
				in := e.Instance
				if !ok || math.Abs(in.VCPU*e.VCPUHour+in.MemoryGiB*e.GiBHour-in.Hour) > providers.Tolerance ||
					!(e.EgressGB.Value > 0) || !(e.StorageGBMonth.Value > 0) {
					t.Fatalf("accepted row %+v breaks the catalog's guarantees", e)
				}
			}
		}
		for _, p := range []meridian.Provider{meridian.ProviderOnPrem, meridian.ProviderEdge} {
			if rs := c.Regions(p); len(rs) > 0 {
				t.Fatalf("accepted %s rows %v", p, rs)
			}
		}
	})
}
