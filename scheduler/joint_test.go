package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// TestJointHysteresis: "a" holds the whole of the limited target dc, where
// it costs $40; leaving for cloud costs it $8 more, so hysteresis alone
// keeps it. "b" runs on dear at a cost given per case and would save
// that minus $40 on dc, its only other target. The swap is taken only when its joint saving, b's
// saving less a's loss, exceeds the sum of both thresholds ($10 each: 5%
// of their current costs is less).
func TestJointHysteresis(t *testing.T) {
	// Storage prices make the monthly costs exact in binary; vCPU is what
	// dc's capacity limits.
	unit := func(v float64) meridian.Rates { return meridian.Rates{StorageGBMonth: v} }
	w := func(name string) meridian.Workload {
		return meridian.Workload{Name: name, Replicas: meridian.ReplicaRange{Min: 1, Max: 1}, PerReplica: meridian.PerReplica{VCPU: 4}, StorageGB: 1}
	}
	cases := map[string]struct {
		reason string
		dear   float64 // b's monthly cost where it runs
		wantA  string
		wantB  string
	}{
		"pays jointly":       {"b saves $120, a loses $8: $112 beats the $20 of thresholds", 160, "cloud", "dc"},
		"b alone pays":       {"b's $12 saving clears its own $10 threshold, but less a's $8 loss it is $4", 52, "dc", "dear"},
		"equal":              {"a joint saving of exactly $20 does not exceed the $20 threshold", 68, "dc", "dear"},
		"a cent above equal": {"a joint saving of $20.25 exceeds the threshold", 68.25, "cloud", "dc"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &Problem{
				Workloads: []meridian.Workload{w("a"), w("b")},
				Targets: []meridian.Target{
					{Name: "cloud", Provider: meridian.ProviderAWS},
					{Name: "dc", Provider: meridian.ProviderOnPrem, Capacity: meridian.Capacity{VCPU: 4}},
					{Name: "dear", Provider: meridian.ProviderGCP},
				},
				Rates: []meridian.Rates{unit(48), unit(40), unit(tc.dear)},
				// b may not use cloud, so that dc is its only way out.
				Violations: [][][]meridian.Violation{nil, {deny("zone", "b may not run on cloud"), nil, nil}},
				Current:    map[string][]string{"a": {"dc"}, "b": {"dear"}},
				Settings:   meridian.PlacementSettings{MinSavingPercent: 5, MinSavingUSD: 10},
			}
			res, err := SolveJoint(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]meridian.Placement{}
			for _, pl := range res.Placements {
				got[pl.Workload] = pl
			}
			if got["a"].Target != tc.wantA || got["b"].Target != tc.wantB {
				t.Fatalf("%s: a on %s, b on %s; want a on %s, b on %s", tc.reason, got["a"].Target, got["b"].Target, tc.wantA, tc.wantB)
			}
			if tc.wantA == "cloud" && !strings.Contains(got["a"].Explanation.Reason, "moves from dc to make room there") {
				t.Errorf("a's reason %q does not say it makes room", got["a"].Explanation.Reason)
			}
		})
	}
}

// TestSolveJointNeverWorse: on generated instances (half the workloads
// with a current placement, limited targets among the rest), SolveJoint
// either returns Solve's plan or one that leaves out no more workloads
// and costs less.
func TestSolveJointNeverWorse(t *testing.T) {
	changed := 0
	for seed := int64(1); seed <= 30; seed++ {
		p := Generate(seed, 40, 6)
		one, err := Solve(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		joint, err := SolveJoint(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(joint.Unplaceable) > len(one.Unplaceable) {
			t.Errorf("seed %d: SolveJoint leaves out %d workloads, Solve %d", seed, len(joint.Unplaceable), len(one.Unplaceable))
		}
		if c1, cj := totalCost(one), totalCost(joint); cj > c1+1e-6 {
			t.Errorf("seed %d: SolveJoint's plan costs %.2f, more than Solve's %.2f", seed, cj, c1)
		} else if cj < c1-1e-6 {
			changed++
		}
	}
	t.Logf("%d of 30 instances took a joint set of moves", changed)
}
