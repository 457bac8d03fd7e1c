package scheduler

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// perVCPU prices a target at usd per vCPU-month and nothing else, so that
// the examples below cost round amounts.
func perVCPU(usd float64) meridian.Rates {
	return meridian.Rates{VCPUHour: usd / meridian.HoursPerMonth}
}

func deny(rule, msg string) []meridian.Violation {
	return []meridian.Violation{{Rule: rule, Severity: meridian.SeverityDeny, Message: msg}}
}

// estate is four targets: two clouds, a 4-vCPU data centre and an 8-vCPU
// edge site, at $30, $32, $20 and $10 per vCPU-month.
func estate() ([]meridian.Target, []meridian.Rates) {
	return []meridian.Target{
		{Name: "aws", Provider: meridian.ProviderAWS, Region: "us-east-1"},
		{Name: "dc", Provider: meridian.ProviderOnPrem, Region: "dc", Capacity: meridian.Capacity{VCPU: 4}},
		{Name: "edge", Provider: meridian.ProviderEdge, Region: "fra", Capacity: meridian.Capacity{VCPU: 8}},
		{Name: "gcp", Provider: meridian.ProviderGCP, Region: "us-central1"},
	}, []meridian.Rates{perVCPU(30), perVCPU(20), perVCPU(10), perVCPU(32)}
}

func vcpus(name string, n float64) meridian.Workload {
	return meridian.Workload{Name: name, Replicas: meridian.ReplicaRange{Min: 1, Max: 1}, PerReplica: meridian.PerReplica{VCPU: n}}
}

// moneyClose compares money to a millionth of a cent: costs are float sums.
var moneyClose = cmp.Comparer(func(a, b meridian.Money) bool { return math.Abs(float64(a-b)) < 1e-6 })

func TestExplanations(t *testing.T) {
	targets, rates := estate()
	edgeDenied := [][]meridian.Violation{nil, nil, deny("residency", "edge is outside the EU"), nil}
	cases := map[string]struct {
		reason     string
		workloads  []meridian.Workload
		violations [][][]meridian.Violation
		current    map[string][]string
		explain    string // workload whose first placement is checked
		want       meridian.Explanation
		wantCost   meridian.CostBreakdown
	}{
		"capacity blocked": {
			reason:    "the 4-vCPU workload saves more on dc, so the 2-vCPU one is told dc had no room left, gcp is next and edge was rejected",
			workloads: []meridian.Workload{vcpus("big", 4), vcpus("small", 2)},
			violations: [][][]meridian.Violation{edgeDenied, {nil, nil, append(deny("residency", "edge is outside the EU"),
				meridian.Violation{Rule: "encryption", Severity: meridian.SeverityDeny, Message: "edge has no KMS"},
				meridian.Violation{Rule: "residency", Severity: meridian.SeverityDeny, Message: "edge is outside the EU"}), nil}},
			explain: "small",
			want: meridian.Explanation{
				Reason:   "cheapest compliant target with capacity",
				RunnerUp: &meridian.RunnerUp{Target: "gcp", ExtraCost: 4},
				CapacityBlocked: []meridian.CapacityBlocked{{Target: "dc", Saving: 20,
					Reason: "would be $20.00/mo cheaper but has no capacity left after higher-value workloads: it needs 2 vCPU / 0 GiB, only 0 vCPU / unlimited GiB left"}},
				CapacityBlockedCount: 1,
				// The residency violation listed twice on edge counts once.
				Rejected: []meridian.RejectionGroup{
					{Rule: "encryption", Reason: "edge has no KMS", Count: 1, Nearest: []string{"edge"}},
					{Rule: "residency", Reason: "edge is outside the EU", Count: 1, Nearest: []string{"edge"}},
				},
				RejectedCount: 1,
			},
			wantCost: meridian.CostBreakdown{Compute: 60},
		},
		"pin overrides policy": {
			reason:     "a pin wins over a deny rule, and the runner-up shows what the pin costs",
			workloads:  []meridian.Workload{vcpus("big", 4), func() meridian.Workload { w := vcpus("pinned", 1); w.Pin = "edge"; return w }()},
			violations: [][][]meridian.Violation{edgeDenied, edgeDenied},
			explain:    "pinned",
			want: meridian.Explanation{
				Reason:          "pinned to edge; the pin overrides deny rules residency",
				RunnerUp:        &meridian.RunnerUp{Target: "aws", ExtraCost: 20},
				CapacityBlocked: []meridian.CapacityBlocked{},
				Rejected:        []meridian.RejectionGroup{},
			},
			wantCost: meridian.CostBreakdown{Compute: 10},
		},
		"hysteresis keeps": {
			reason:     "aws saves $2, under the $10 threshold, and dc is full: the workload stays on gcp",
			workloads:  []meridian.Workload{vcpus("big", 4), vcpus("sticky", 1)},
			violations: [][][]meridian.Violation{edgeDenied, edgeDenied},
			current:    map[string][]string{"sticky": {"gcp"}},
			explain:    "sticky",
			want: meridian.Explanation{
				Reason:   "kept on current target gcp by hysteresis: moving to aws would save $2.00/mo, not more than the $10.00/mo threshold",
				RunnerUp: &meridian.RunnerUp{Target: "aws", ExtraCost: -2},
				CapacityBlocked: []meridian.CapacityBlocked{{Target: "dc", Saving: 12,
					Reason: "would be $12.00/mo cheaper but has no capacity left after higher-value workloads: it needs 1 vCPU / 0 GiB, only 0 vCPU / unlimited GiB left"}},
				CapacityBlockedCount: 1,
				Rejected:             []meridian.RejectionGroup{{Rule: "residency", Reason: "edge is outside the EU", Count: 1, Nearest: []string{"edge"}}},
				RejectedCount:        1,
				Current:              "gcp",
			},
			wantCost: meridian.CostBreakdown{Compute: 32},
		},
		"moves off a non-compliant target": {
			reason: "a current target that now fails policy lifts hysteresis; the move pays 100 GB x $0.60 / 6 months of migration",
			workloads: []meridian.Workload{vcpus("big", 4), func() meridian.Workload {
				w := vcpus("mover", 2)
				w.StorageGB = 100
				return w
			}()},
			violations: [][][]meridian.Violation{edgeDenied, {nil, nil, deny("residency", "edge is outside the EU"), deny("encryption", "gcp keys are not customer-managed")}},
			current:    map[string][]string{"mover": {"gcp"}},
			explain:    "mover",
			want: meridian.Explanation{
				Reason: "cheapest compliant target with capacity; moves from gcp, which violates encryption",
				CapacityBlocked: []meridian.CapacityBlocked{{Target: "dc", Saving: 20,
					Reason: "would be $20.00/mo cheaper but has no capacity left after higher-value workloads: it needs 2 vCPU / 0 GiB, only 0 vCPU / unlimited GiB left"}},
				CapacityBlockedCount: 1,
				// Nearest first: edge costs $20 (+$10 migration), gcp $64.
				Rejected: []meridian.RejectionGroup{
					{Rule: "residency", Reason: "edge is outside the EU", Count: 1, Nearest: []string{"edge"}},
					{Rule: "encryption", Reason: "gcp keys are not customer-managed", Count: 1, Nearest: []string{"gcp"}},
				},
				RejectedCount: 2,
				Current:       "gcp",
			},
			wantCost: meridian.CostBreakdown{Compute: 60, Migration: 10},
		},
		"spread by provider": {
			reason: "spread 2 by provider takes the two cheapest providers; each placement names the best swap as runner-up",
			workloads: []meridian.Workload{func() meridian.Workload {
				w := vcpus("ha", 1)
				w.Requires.Spread = 2
				w.Requires.SpreadBy = meridian.SpreadByProvider
				return w
			}()},
			violations: [][][]meridian.Violation{edgeDenied},
			explain:    "ha",
			want: meridian.Explanation{
				Reason:          "part of the cheapest compliant set of 2 distinct providers",
				RunnerUp:        &meridian.RunnerUp{Target: "gcp", ExtraCost: 2},
				CapacityBlocked: []meridian.CapacityBlocked{},
				Rejected:        []meridian.RejectionGroup{{Rule: "residency", Reason: "edge is outside the EU", Count: 1, Nearest: []string{"edge"}}},
				RejectedCount:   1,
			},
			wantCost: meridian.CostBreakdown{Compute: 30},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &Problem{Workloads: tc.workloads, Targets: targets, Rates: rates, Violations: tc.violations, Current: tc.current,
				Settings: meridian.PlacementSettings{MinSavingPercent: 5, MinSavingUSD: 10, MigrationAmortizeMonths: 6}}
			p.Rates = append([]meridian.Rates(nil), rates...)
			p.Rates[3].EgressGB = 0.6
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			for _, pl := range res.Placements {
				if pl.Workload != tc.explain {
					continue
				}
				if diff := cmp.Diff(tc.want, pl.Explanation, moneyClose); diff != "" {
					t.Errorf("%s\nexplanation of %s on %s (-want +got):\n%s", tc.reason, pl.Workload, pl.Target, diff)
				}
				if diff := cmp.Diff(tc.wantCost, pl.Cost, moneyClose); diff != "" {
					t.Errorf("%s\ncost of %s on %s (-want +got):\n%s", tc.reason, pl.Workload, pl.Target, diff)
				}
				return
			}
			t.Fatalf("%s: no placement of %s in %+v (unplaceable %+v)", tc.reason, tc.explain, res.Placements, res.Unplaceable)
		})
	}
}

func TestUnplaceableReasons(t *testing.T) {
	targets, rates := estate()
	all := func(rule string) [][]meridian.Violation {
		return [][]meridian.Violation{deny(rule, "no aws"), deny(rule, "no dc"), deny(rule, "no edge"), deny(rule, "no gcp")}
	}
	pinned := func(name, to string, n float64) meridian.Workload { w := vcpus(name, n); w.Pin = to; return w }
	cases := map[string]struct {
		reason     string
		workloads  []meridian.Workload
		violations [][][]meridian.Violation
		want       meridian.Unplaceable
	}{
		"no compliant target": {
			reason:     "every target fails a deny rule, each with its own message: a group each, nearest (edge at $10) first",
			workloads:  []meridian.Workload{vcpus("w", 1)},
			violations: [][][]meridian.Violation{all("residency")},
			want: meridian.Unplaceable{Workload: "w", Reason: "no compliant target: every target violates a deny placement rule", Targets: []meridian.RejectionGroup{
				{Rule: "residency", Reason: "no edge", Count: 1, Nearest: []string{"edge"}},
				{Rule: "residency", Reason: "no dc", Count: 1, Nearest: []string{"dc"}},
				{Rule: "residency", Reason: "no aws", Count: 1, Nearest: []string{"aws"}},
				{Rule: "residency", Reason: "no gcp", Count: 1, Nearest: []string{"gcp"}},
			}},
		},
		"pinned target full": {
			reason:    "two workloads pinned to the 4-vCPU dc need 5 vCPU: the solver leaves out one, the costlier, and says the pin target is full",
			workloads: []meridian.Workload{pinned("a", "dc", 3), pinned("b", "dc", 2)},
			want: meridian.Unplaceable{Workload: "a", Reason: "pinned target dc has no capacity left: needs 3 vCPU / 0 GiB, only 2 vCPU / unlimited GiB left", Targets: []meridian.RejectionGroup{
				{Rule: "pin", Reason: "the workload is pinned to dc", Count: 3, Nearest: []string{"edge", "aws", "gcp"}},
				{Rule: "capacity", Reason: "needs 3 vCPU / 0 GiB, only 2 vCPU / unlimited GiB left", Count: 1, Nearest: []string{"dc"}},
			}},
		},
		"pinned target unknown": {
			reason:    "a pin to an undeclared target is named as such",
			workloads: []meridian.Workload{pinned("w", "azure", 1)},
			want: meridian.Unplaceable{Workload: "w", Reason: `pinned to "azure", which is not a declared target`, Targets: []meridian.RejectionGroup{
				{Rule: "pin", Reason: "the workload is pinned to azure", Count: 4, Nearest: []string{"edge", "dc", "aws"}},
			}},
		},
		"not enough providers": {
			reason: "spread 3 by provider with aws and gcp compliant cannot be met: the compliant targets carry spread_by",
			workloads: []meridian.Workload{func() meridian.Workload {
				w := vcpus("ha", 1)
				w.Requires.Spread, w.Requires.SpreadBy = 3, meridian.SpreadByProvider
				return w
			}()},
			violations: [][][]meridian.Violation{{nil, deny("residency", "no dc"), deny("residency", "no edge"), nil}},
			want: meridian.Unplaceable{Workload: "ha", Reason: "requires.spread: 3 needs 3 distinct compliant providers, only 2 available", Targets: []meridian.RejectionGroup{
				{Rule: "residency", Reason: "no edge", Count: 1, Nearest: []string{"edge"}},
				{Rule: "residency", Reason: "no dc", Count: 1, Nearest: []string{"dc"}},
				{Rule: "spread_by", Reason: "requires.spread: 3 needs 3 distinct providers", Count: 2, Nearest: []string{"aws", "gcp"}},
			}},
		},
		"too big everywhere": {
			reason:     "a workload larger than every compliant limited target is a capacity problem, not a policy one",
			workloads:  []meridian.Workload{vcpus("w", 16)},
			violations: [][][]meridian.Violation{{deny("residency", "no aws"), nil, nil, deny("residency", "no gcp")}},
			want: meridian.Unplaceable{Workload: "w", Reason: "capacity: no compliant target is large enough for 16 vCPU / 0 GiB per target", Targets: []meridian.RejectionGroup{
				{Rule: "capacity", Reason: "needs 16 vCPU / 0 GiB per target, more than its total capacity of 8 vCPU / unlimited GiB", Count: 1, Nearest: []string{"edge"}},
				{Rule: "capacity", Reason: "needs 16 vCPU / 0 GiB per target, more than its total capacity of 4 vCPU / unlimited GiB", Count: 1, Nearest: []string{"dc"}},
				{Rule: "residency", Reason: "no aws", Count: 1, Nearest: []string{"aws"}},
				{Rule: "residency", Reason: "no gcp", Count: 1, Nearest: []string{"gcp"}},
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &Problem{Workloads: tc.workloads, Targets: targets, Rates: rates, Violations: tc.violations}
			if p.Violations != nil {
				for len(p.Violations) < len(p.Workloads) {
					p.Violations = append(p.Violations, nil)
				}
			}
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Unplaceable) != 1 {
				t.Fatalf("%s: %d unplaceable, want 1: %+v", tc.reason, len(res.Unplaceable), res.Unplaceable)
			}
			if diff := cmp.Diff(tc.want, res.Unplaceable[0]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
