package controlplane

import (
	"testing"

	"github.com/meridianhq/meridian"
)

// TestAlertURL: a finding alert links to the findings page of its rule,
// and an audit's finding (branch BRANCH@live) to the live ones, where the
// config's list would not show it.
func TestAlertURL(t *testing.T) {
	const base = "https://meridian.example.com"
	cases := map[string]struct {
		reason string
		alert  meridian.Alert
		want   string
	}{
		"ConfigFinding": {"A config finding of no workload lists its rule's open findings.",
			meridian.Alert{Source: meridian.AlertSourceFinding, Name: "MER-TAG-001", Branch: "main"},
			base + "/findings?rule=MER-TAG-001&state=open"},
		"LiveFinding": {"A live finding of no workload lists its rule's open live findings.",
			meridian.Alert{Source: meridian.AlertSourceFinding, Name: "MER-TAG-001", Branch: LiveBranch("main")},
			base + "/findings?rule=MER-TAG-001&source=live&state=open"},
		"LiveFindingOfWorkload": {"A finding about a workload, live or not, links to the workload.",
			meridian.Alert{Source: meridian.AlertSourceFinding, Name: "MER-ENC-001", Branch: LiveBranch("main"), Workload: "api"},
			base + "/workloads/api"},
		"EdgeSite": {"An edge site's alert links to the site's page, which exists whether or not the site is a target of the config.",
			meridian.Alert{Source: meridian.AlertSourceSite, Name: "site_stale", Target: "edge-popup"},
			base + "/sites/edge-popup"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := alertURL(base, &tc.alert); got != tc.want {
				t.Errorf("%s\nalertURL = %s, want %s", tc.reason, got, tc.want)
			}
		})
	}
}
