package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/pricing"
)

func TestRefreshOptions(t *testing.T) {
	aws, azure, gcp := meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP
	cases := map[string]struct {
		reason                    string
		provs, regions, endpoints []string
		want                      pricing.Options
		err                       string
	}{
		"defaults": {
			reason: "No flags: every provider at its public endpoint, the base catalog's regions.",
			want:   pricing.Options{Regions: map[meridian.Provider][]string{}, Endpoints: map[meridian.Provider]string{}},
		},
		"one provider": {
			reason:    "With one --provider, a bare region and endpoint are that provider's.",
			provs:     []string{"AWS"},
			regions:   []string{"us-west-2", "aws/eu-central-1"},
			endpoints: []string{"http://127.0.0.1:9"},
			want: pricing.Options{Providers: []meridian.Provider{aws},
				Regions:   map[meridian.Provider][]string{aws: {"us-west-2", "eu-central-1"}},
				Endpoints: map[meridian.Provider]string{aws: "http://127.0.0.1:9"}},
		},
		"prefixed": {
			reason:    "With several providers, prefixes say which is which; an endpoint URL's own '=' is kept.",
			regions:   []string{"azure/eastus", "gcp/us-central1"},
			endpoints: []string{"azure=http://m/?a=b", "gcp=localhost:1"},
			want: pricing.Options{Regions: map[meridian.Provider][]string{azure: {"eastus"}, gcp: {"us-central1"}},
				Endpoints: map[meridian.Provider]string{azure: "http://m/?a=b", gcp: "localhost:1"}},
		},
		"bare region, many providers": {
			reason:  "A region name alone does not say its cloud.",
			regions: []string{"eastus"},
			err:     `--region "eastus": say which provider`,
		},
		"onprem": {
			reason: "On-prem has no price API.",
			provs:  []string{"onprem"},
			err:    `--provider: want aws, azure or gcp, got "onprem"`,
		},
		"region of another provider": {
			reason:  "A region for a provider that is not refreshed would be silently ignored.",
			provs:   []string{"aws"},
			regions: []string{"gcp/us-east1"},
			err:     "gcp is not among the --provider values",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := refreshOptions(tc.provs, tc.regions, tc.endpoints)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%s\nerr = %v, want %q", tc.reason, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nerr = %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPricesRefreshNeedsOut(t *testing.T) {
	r := runCLI(t, "prices", "refresh", "--provider", "azure")
	if r.code != exitError || !strings.Contains(r.stderr, "--out is required") {
		t.Errorf("exit %d, stderr %q; want a usage error about --out", r.code, r.stderr)
	}
}
