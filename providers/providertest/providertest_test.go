package providertest

import (
	"slices"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// fake is a Backend whose answers a test sets.
type fake struct {
	p       meridian.Provider
	regions []string
	shared  bool // return the same slice every time
}

func (f *fake) Provider() meridian.Provider { return f.p }
func (f *fake) Regions() []string {
	if f.shared {
		return f.regions
	}
	return slices.Clone(f.regions)
}

// TestChecksCatchBrokenBackends shows that the suite can fail: each broken
// backend must trip the named check, and a sound one trips none.
func TestChecksCatchBrokenBackends(t *testing.T) {
	c, err := providers.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	awsRegions := []string{"eu-central-1", "us-east-1"}
	cases := map[string]struct {
		reason string
		b      providers.Backend
		fails  []string // names of the checks that must report errors
	}{
		"sound": {
			reason: "A backend knowing every catalog region passes everything.",
			b:      &fake{p: meridian.ProviderAWS, regions: awsRegions},
		},
		"unknown provider": {
			reason: "A typo in the provider name must not pass.",
			b:      &fake{p: "amazon", regions: awsRegions},
			fails:  []string{"Provider", "Regions"},
		},
		"unsorted": {
			reason: "Regions must be sorted for stable output.",
			b:      &fake{p: meridian.ProviderAWS, regions: []string{"us-east-1", "eu-central-1"}},
			fails:  []string{"Regions"},
		},
		"bad region code": {
			reason: "Region codes are lower-case tokens.",
			b:      &fake{p: meridian.ProviderAWS, regions: []string{"EU Frankfurt", "eu-central-1", "us-east-1"}},
			fails:  []string{"Regions"},
		},
		"shared slice": {
			reason: "A caller modifying the result must not corrupt the backend.",
			b:      &fake{p: meridian.ProviderAWS, regions: slices.Clone(awsRegions), shared: true},
			// The Regions check's own write then corrupts what later checks see.
			fails: []string{"Regions", "CatalogRegionsKnown"},
		},
		"missing catalog region": {
			reason: "The catalog must not price a region the provider package does not know.",
			b:      &fake{p: meridian.ProviderAWS, regions: []string{"us-east-1"}},
			fails:  []string{"CatalogRegionsKnown"},
		},
		"cloud without regions": {
			reason: "A cloud backend must know its regions.",
			b:      &fake{p: meridian.ProviderGCP},
			fails:  []string{"Regions", "CatalogRegionsKnown"},
		},
		"onprem with regions": {
			reason: "On-prem site names are free-form.",
			b:      &fake{p: meridian.ProviderOnPrem, regions: []string{"dc-1"}},
			fails:  []string{"Regions"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var failed []string
			for _, ch := range checks() {
				if errs := ch.fn(tc.b, c); len(errs) > 0 {
					failed = append(failed, ch.name)
				}
			}
			if !slices.Equal(failed, tc.fails) {
				t.Errorf("%s\nfailing checks = %v, want %v", tc.reason, failed, tc.fails)
			}
		})
	}
}

func TestReferenceOne(t *testing.T) {
	ref := LoadReference(t)
	if got := len(ref); got != 98 {
		t.Errorf("reference has %d rows, want the 98 the pricing README describes", got)
	}
	r := ref.One(t, Query{Category: "compute", Provider: "gcp", Region: "us-central1", Item: "n2-standard-2"})
	if r.Value(t) != 0.097118 {
		t.Errorf("n2-standard-2 us-central1 = %v, want 0.097118", r.Price)
	}
	// A "|"-joined region row is found by any of its regions.
	r = ref.One(t, Query{Category: "unit-rate", Provider: "gcp", Region: "us-west1", Item: "A2 Instance Core running in Americas"})
	if r.SourceID != "S10" {
		t.Errorf("A2 core source = %s, want S10", r.SourceID)
	}
}
