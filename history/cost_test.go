package history

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestTeam(t *testing.T) {
	cases := map[string]struct {
		tags map[string]string
		want string
	}{
		"team wins":  {map[string]string{"team": "payments", "owner": "alice"}, "payments"},
		"owner":      {map[string]string{"owner": "alice"}, "alice"},
		"empty team": {map[string]string{"team": "", "owner": "alice"}, "alice"},
		"neither":    {map[string]string{"env": "prod"}, Unowned},
		"no tags":    {nil, Unowned},
	}
	for name, tc := range cases {
		if got := Team(tc.tags); got != tc.want {
			t.Errorf("%s: Team(%v) = %q, want %q", name, tc.tags, got, tc.want)
		}
	}
}

func TestBreakdown(t *testing.T) {
	cfg := &meridian.Config{
		Targets: []meridian.Target{{Name: "aws-eu", Provider: meridian.ProviderAWS}, {Name: "dc1", Provider: meridian.ProviderOnPrem}},
		Workloads: []meridian.Workload{
			{Name: "api", Tags: map[string]string{"team": "payments", "owner": "alice", "cost-center": "cc-1", "env": "prod"}},
			{Name: "batch", Tags: map[string]string{"owner": "bob", "env": "dev"}},
		},
	}
	plan := &meridian.Plan{ID: "p1", Commit: "c1", Placements: []meridian.Placement{
		{Workload: "api", Target: "aws-eu", MonthlyCost: 100},
		{Workload: "api", Target: "dc1", MonthlyCost: 50},
		{Workload: "batch", Target: "dc1", MonthlyCost: 20},
		{Workload: "gone", Target: "old", MonthlyCost: 5},
	}}
	got := PlanCost(cfg, plan, meridian.CostPlanned)
	want := meridian.CostPoint{Kind: meridian.CostPlanned, PlanID: "p1", Commit: "c1", Total: 175, By: map[meridian.CostDimension]map[string]meridian.Money{
		meridian.CostByTarget:     {"aws-eu": 100, "dc1": 70, "old": 5},
		meridian.CostByProvider:   {"aws": 100, "onprem": 70, Unknown: 5},
		meridian.CostByTeam:       {"payments": 150, "bob": 20, Unowned: 5},
		meridian.CostByCostCenter: {"cc-1": 150, Unset: 25},
		meridian.CostByEnv:        {"prod": 150, "dev": 20, Unset: 5},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PlanCost (-want +got):\n%s", diff)
	}
	for d, values := range got.By {
		var sum meridian.Money
		for _, v := range values {
			sum += v
		}
		if sum != got.Total {
			t.Errorf("%s sums to %v, want the total %v", d, sum, got.Total)
		}
	}
}
