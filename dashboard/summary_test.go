package dashboard_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/dashboard"
)

// fixture is a plan of four workloads over three targets, with runner-ups,
// a blocked, an unplaceable and a frozen workload, and findings.
func fixture() (*meridian.Plan, *meridian.Config) {
	cfg := &meridian.Config{
		Targets: []meridian.Target{
			{Name: "aws-us", Provider: meridian.ProviderAWS, Jurisdiction: "us"},
			{Name: "gcp-eu", Provider: meridian.ProviderGCP, Jurisdiction: "eu"},
			{Name: "dc-eu", Provider: meridian.ProviderOnPrem, Jurisdiction: "eu", Capacity: meridian.Capacity{VCPU: 16}},
		},
		Workloads: []meridian.Workload{
			{Name: "api", Tags: map[string]string{"team": "payments"}, PerReplica: meridian.PerReplica{VCPU: 2, MemoryGiB: 4}},
			{Name: "web", Tags: map[string]string{"owner": "storefront"}, PerReplica: meridian.PerReplica{VCPU: 1, MemoryGiB: 2}},
			{Name: "etl", PerReplica: meridian.PerReplica{VCPU: 4, MemoryGiB: 16}},
			{Name: "lost", Tags: map[string]string{"team": "payments"}},
		},
	}
	pl := func(w, t string, replicas int, cost meridian.Money, runner string, extra meridian.Money) meridian.Placement {
		p := meridian.Placement{Workload: w, Target: t, Replicas: replicas, MonthlyCost: cost, Explanation: meridian.Explanation{Reason: "cheapest compliant"}}
		if runner != "" {
			p.Explanation.RunnerUp = &meridian.RunnerUp{Target: runner, ExtraCost: extra}
		}
		return p
	}
	p := &meridian.Plan{ID: "p1", Commit: "c1", Currency: "USD", Placements: []meridian.Placement{
		pl("api", "aws-us", 3, 300.004, "gcp-eu", 45.10),
		pl("api", "dc-eu", 2, 120, "", 0),
		pl("web", "gcp-eu", 1, 1441.05, "aws-us", 12.5),
		pl("etl", "dc-eu", 1, 2000, "gcp-eu", 100),
	}, Unplaceable: []meridian.Unplaceable{{Workload: "lost", Reason: "no target"}},
		Findings: []meridian.Finding{{Rule: "R1", Severity: meridian.SeverityDeny, Workload: "etl"}, {Rule: "R2", Severity: meridian.SeverityWarn, Workload: "api"},
			{Rule: "R3", Severity: meridian.SeverityWarn, Workload: "web"}, {Rule: "R4", Severity: meridian.SeverityInfo},
			// An audit's findings on live resources, counted apart.
			{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Workload: "api", Source: meridian.FindingSourceLive, Resource: "arn:aws:s3:::api-data"},
			{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Workload: "api", Source: meridian.FindingSourceLive, Resource: "arn:aws:s3:::api-old"},
			{Rule: "MER-TAG-002", Severity: meridian.SeverityWarn, Source: meridian.FindingSourceLive, Resource: "i-0abc"}},
		Terraform: []meridian.TargetChange{{Target: "dc-eu", Frozen: []meridian.Frozen{{Workload: "etl", Replicas: 1, Planned: 2}}}},
	}
	p.Placements[3].Blocked = true
	for _, x := range p.Placements {
		p.TotalMonthlyCost += x.MonthlyCost
	}
	return p, cfg
}

func TestBuild(t *testing.T) {
	p, cfg := fixture()
	s := dashboard.Build(p, cfg)
	// Static peak: the history's peak needs 5 replicas of api where the
	// forecast sized 4 (its two placements' compute scale by 5/4), web
	// the 1 it runs, and etl has no history.
	for i, c := range []meridian.Money{200, 80, 1000, 0} {
		p.Placements[i].Cost.Compute = c
	}
	p.Placements[0].Explanation.Sizing = &meridian.Sizing{Method: "forecast", Replicas: 4, StaticPeakReplicas: 5}
	p.Placements[1].Explanation.Sizing = p.Placements[0].Explanation.Sizing
	p.Placements[2].Explanation.Sizing = &meridian.Sizing{Method: "forecast", Replicas: 1, StaticPeakReplicas: 1}
	p.Placements[3].Explanation.Sizing = &meridian.Sizing{Method: "replicas.min", Replicas: 1}
	if st := dashboard.Build(p, cfg); st.StaticSaving.Round() != (200+80)*0.25 || st.StaticWorkloads != 2 {
		t.Errorf("static saving %v over %d workloads, want %v over 2", st.StaticSaving, st.StaticWorkloads, meridian.Money((200+80)*0.25))
	}
	type figures struct {
		Total, RunnerUpSaving                               meridian.Money
		RunnerUpPlacements, Workloads, Blocked, Unplaceable int
		Frozen, Deny, Warn, LiveDeny, LiveWarn              int
		ByProvider, ByTeam                                  map[string]meridian.Money
	}
	got := figures{s.Total.Round(), s.RunnerUpSaving.Round(), s.RunnerUpPlacements, s.Workloads, s.Blocked, s.Unplaceable, s.Frozen, s.Deny, s.Warn,
		s.LiveDeny, s.LiveWarn, s.By[meridian.CostByProvider], s.By[meridian.CostByTeam]}
	want := figures{Total: 3861.05, RunnerUpSaving: 157.60, RunnerUpPlacements: 3, Workloads: 3, Blocked: 1, Unplaceable: 1, Frozen: 1, Deny: 1, Warn: 2,
		LiveDeny: 2, LiveWarn: 1,
		ByProvider: map[string]meridian.Money{"aws": 300, "gcp": 1441.05, "onprem": 2120},
		ByTeam:     map[string]meridian.Money{"payments": 420, "storefront": 1441.05, "unowned": 2000}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	use, ok := s.TargetUse("dc-eu")
	if !ok || use.VCPU != 2*2+4 || use.MemoryGiB != 2*4+16 || use.Placements != 2 || use.MonthlyCost != 2120 {
		t.Errorf("dc-eu use %+v %v", use, ok)
	}
	if _, ok := s.TargetUse("nowhere"); ok {
		t.Errorf("an unused target has a use")
	}
	if tg, ok := s.Target("dc-eu"); !ok || tg.Capacity.VCPU != 16 {
		t.Errorf("target config %+v %v", tg, ok)
	}
	if rows := s.WorkloadRows("api"); len(rows) != 2 || rows[0].Target != "aws-us" || rows[1].Target != "dc-eu" {
		t.Errorf("api rows %+v", rows)
	}
	// Sorted sums the rest into "other", so the list still adds up.
	top := dashboard.Sorted(s.By[meridian.CostByTarget], 1)
	if len(top) != 2 || top[0].Key != "dc-eu" || top[1].Key != "other" || (top[0].Amount+top[1].Amount).Round() != 3861.05 {
		t.Errorf("Sorted: %+v", top)
	}
}

func TestPlacements(t *testing.T) {
	p, cfg := fixture()
	s := dashboard.Build(p, cfg)
	key := func(r dashboard.Row) string { return r.Workload + "@" + r.Target }
	cases := map[string]struct {
		reason  string
		q       dashboard.Query
		rows    []string
		matched int
		pages   int
	}{
		"default": {"workload then target, ascending", dashboard.Query{}, []string{"api@aws-us", "api@dc-eu", "etl@dc-eu", "web@gcp-eu"}, 4, 1},
		"cost desc": {"sorting compares amounts, not their text ($2,000.00 > $300.00)", dashboard.Query{Sort: "cost", Desc: true},
			[]string{"etl@dc-eu", "web@gcp-eu", "api@aws-us", "api@dc-eu"}, 4, 1},
		"extra asc": {"placements without a runner-up sort as zero extra", dashboard.Query{Sort: "extra"},
			[]string{"api@dc-eu", "web@gcp-eu", "api@aws-us", "etl@dc-eu"}, 4, 1},
		"provider":              {"filter by the target's provider", dashboard.Query{Provider: "onprem"}, []string{"api@dc-eu", "etl@dc-eu"}, 2, 1},
		"jurisdiction and team": {"filters combine", dashboard.Query{Jurisdiction: "eu", Team: "payments"}, []string{"api@dc-eu"}, 1, 1},
		"search":                {"search is a case-insensitive substring of the name", dashboard.Query{Search: "ET"}, []string{"etl@dc-eu"}, 1, 1},
		"page 2":                {"pages are cut after sorting", dashboard.Query{Sort: "cost", PerPage: 3, Page: 2}, []string{"etl@dc-eu"}, 4, 2},
		"past the end":          {"a page past the end is empty, not an error", dashboard.Query{PerPage: 3, Page: 5}, nil, 4, 2},
		"clamped": {"per_page is clamped to the maximum, unknown columns sort by workload",
			dashboard.Query{PerPage: 10_000, Sort: "nope"}, []string{"api@aws-us", "api@dc-eu", "etl@dc-eu", "web@gcp-eu"}, 4, 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := s.Placements(tc.q)
			var got []string
			for _, r := range res.Rows {
				got = append(got, key(r))
			}
			if d := cmp.Diff(tc.rows, got); d != "" || res.Matched != tc.matched || res.Pages != tc.pages {
				t.Errorf("%s: matched %d pages %d (want %d %d), rows (-want +got):\n%s", tc.reason, res.Matched, res.Pages, tc.matched, tc.pages, d)
			}
			if res.Query.PerPage > dashboard.MaxPerPage {
				t.Errorf("per page %d over the maximum", res.Query.PerPage)
			}
		})
	}
}

// TestPlacementsPagesCoverAll: walking the pages of any sort visits every
// row once, whichever way ties fall.
func TestPlacementsPagesCoverAll(t *testing.T) {
	p := &meridian.Plan{ID: "p"}
	for i := range 23 {
		p.Placements = append(p.Placements, meridian.Placement{Workload: fmt.Sprintf("w%02d", i%7), Target: fmt.Sprintf("t%d", i), Replicas: i % 3, MonthlyCost: meridian.Money(i % 4)})
	}
	s := dashboard.Build(p, nil)
	for _, col := range dashboard.Columns {
		for _, desc := range []bool{false, true} {
			seen := map[string]int{}
			for page := 1; page <= 5; page++ {
				for _, r := range s.Placements(dashboard.Query{Sort: col, Desc: desc, PerPage: 5, Page: page}).Rows {
					seen[r.Workload+"@"+r.Target]++
				}
			}
			if len(seen) != 23 {
				t.Errorf("sort %s desc=%v: pages visit %d distinct rows, want 23", col, desc, len(seen))
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("sort %s desc=%v: %s on %d pages", col, desc, k, n)
				}
			}
		}
	}
}

func TestCacheBuildsOnce(t *testing.T) {
	c := dashboard.NewCache[*dashboard.Summary](2)
	builds := 0
	get := func(key string) *dashboard.Summary {
		s, err := c.Get(key, func() (*dashboard.Summary, error) {
			builds++
			return dashboard.Build(&meridian.Plan{ID: key}, nil), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := get("a")
	if get("a") != a || builds != 1 {
		t.Errorf("a second Get rebuilt: %d builds", builds)
	}
	get("b")
	get("c") // evicts a, the oldest
	if get("a"); builds != 4 {
		t.Errorf("%d builds, want 4: the cache must forget its oldest entry", builds)
	}
	if _, err := c.Get("x", func() (*dashboard.Summary, error) { return nil, fmt.Errorf("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a failed build: %v", err)
	}
	if s, err := c.Get("x", func() (*dashboard.Summary, error) { return dashboard.Build(&meridian.Plan{ID: "x"}, nil), nil }); err != nil || s.PlanID != "x" {
		t.Errorf("a failed build is kept: %v", err)
	}
}
