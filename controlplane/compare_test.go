package controlplane_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/planner"
)

// TestCompare plans a head against its base as `meridian plan --base
// --head` and the server's review do: the head is judged by the base's
// policy settings, whatever it says of them.
func TestCompare(t *testing.T) {
	base := loadExample(t)
	cases := map[string]struct {
		reason            string
		edit              func(cfg *meridian.Config)
		wantBlocking      bool
		wantPolicyChanged bool
	}{
		"DropsRequiredTag": {
			reason: "A head that stops requiring the owner tag, and adds a workload without one, is still judged by the base's required_tags.",
			edit: func(cfg *meridian.Config) {
				cfg.Settings.RequiredTags = slices.DeleteFunc(slices.Clone(cfg.Settings.RequiredTags), func(s string) bool { return s == "owner" })
				w := cfg.Workloads[0]
				w.Name, w.Tags = "new-svc", map[string]string{}
				for k, v := range cfg.Workloads[0].Tags {
					if k != "owner" {
						w.Tags[k] = v
					}
				}
				cfg.Workloads = append(slices.Clone(cfg.Workloads), w)
			},
			wantBlocking:      true,
			wantPolicyChanged: true,
		},
		"Unchanged": {
			reason: "A head with the base's config changes no policy and needs no preview.",
			edit:   func(*meridian.Config) {},
		},
	}
	pl, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			head := *base
			cfg := *base.Config
			tc.edit(&cfg)
			head.Config = &cfg
			c, err := controlplane.Compare(context.Background(), pl, base, &head, controlplane.CompareOptions{BaseName: "main", HeadName: "feature"})
			if err != nil {
				t.Fatal(err)
			}
			if c.After.Blocking() != tc.wantBlocking || c.PolicyChanged != tc.wantPolicyChanged {
				t.Errorf("%s\nblocking %t, policy changed %t; want %t, %t", tc.reason, c.After.Blocking(), c.PolicyChanged, tc.wantBlocking, tc.wantPolicyChanged)
			}
			if (c.Preview != nil) != tc.wantPolicyChanged {
				t.Errorf("%s\npreview %v with policy changed %t", tc.reason, c.Preview, c.PolicyChanged)
			}
			if c.Before == nil || c.Title != "`feature` → `main`" || !strings.HasPrefix(c.BeforeSource, "plan of base `main`") {
				t.Errorf("comparison: title %q, before source %q, before %v", c.Title, c.BeforeSource, c.Before != nil)
			}
			if tc.wantBlocking && !slices.ContainsFunc(c.After.Findings, func(f meridian.Finding) bool { return f.Rule == "MER-TAG-001" && f.Workload == "new-svc" }) {
				t.Errorf("%s\nno MER-TAG-001 for new-svc: %+v", tc.reason, c.After.Findings)
			}
		})
	}
}
