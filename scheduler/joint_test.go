package scheduler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
// and costs less; its plan is as valid as Solve's, and the moves it adds
// that hysteresis would refuse alone make room (checkJointMovesMakeRoom).
// Generate prices limited targets 30% below the clouds, so what runs there
// saves nothing by leaving; "near the clouds" prices them up by 30%, where
// leaving saves a little and hysteresis is what keeps workloads there.
func TestSolveJointNeverWorse(t *testing.T) {
	estates := map[string]float64{"generated": 1, "near the clouds": 1.3}
	for name, factor := range estates {
		t.Run(name, func(t *testing.T) {
			changed := 0
			for seed := int64(1); seed <= 30; seed++ {
				t.Run(fmt.Sprint(seed), func(t *testing.T) {
					p := Generate(seed, 40, 6)
					for q := range p.Targets {
						if p.Targets[q].Capacity.Limited() {
							p.Rates[q].VCPUHour *= factor
							p.Rates[q].GiBHour *= factor
						}
					}
					one, err := Solve(context.Background(), p)
					if err != nil {
						t.Fatal(err)
					}
					joint, err := SolveJoint(context.Background(), p)
					if err != nil {
						t.Fatal(err)
					}
					checkProperties(t, p, joint)
					checkJointMovesMakeRoom(t, p, one, joint)
					if len(joint.Unplaceable) > len(one.Unplaceable) {
						t.Errorf("SolveJoint leaves out %d workloads, Solve %d", len(joint.Unplaceable), len(one.Unplaceable))
					}
					if c1, cj := totalCost(one), totalCost(joint); cj > c1+1e-6 {
						t.Errorf("SolveJoint's plan costs %.2f, more than Solve's %.2f", cj, c1)
					} else if cj < c1-1e-6 {
						changed++
					}
				})
			}
			t.Logf("%d of 30 instances took a joint set of moves", changed)
		})
	}
}

// checkJointMovesMakeRoom checks what the threshold a released workload
// pays to leave in the joint solve buys: a single-target workload that
// Solve's plan one keeps on its limited current target and the joint plan
// moves for a saving within its hysteresis threshold moved only to make
// room, so that target has no room left to take it back. Were leaving
// free, the joint optimum would also make every such move that saves a
// cent.
func checkJointMovesMakeRoom(t *testing.T, p *Problem, one, joint *Result) {
	t.Helper()
	idx := map[string]int{}
	for q, tg := range p.Targets {
		idx[tg.Name] = q
	}
	kept := map[string]bool{}
	for _, pl := range one.Placements {
		if cur := p.Current[pl.Workload]; len(cur) == 1 && cur[0] == pl.Target {
			kept[pl.Workload] = true
		}
	}
	byName := map[string]int{}
	for i := range p.Workloads {
		byName[p.Workloads[i].Name] = i
	}
	load := used(p, joint)
	for _, pl := range joint.Placements {
		i := byName[pl.Workload]
		w := &p.Workloads[i]
		if !kept[w.Name] || w.SpreadCount() != 1 || pl.Target == p.Current[w.Name][0] {
			continue
		}
		from := p.Current[w.Name][0]
		tg := p.Targets[idx[from]]
		if !tg.Capacity.Limited() {
			continue
		}
		stay := float64(meridian.MonthlyCost(w, pl.Replicas, p.Rates[idx[from]]).Total())
		thr := max(p.Settings.MinSavingPercent/100*stay, p.Settings.MinSavingUSD)
		if stay-float64(pl.MonthlyCost) > thr {
			continue
		}
		back := [2]float64{float64(pl.Replicas) * w.PerReplica.VCPU, float64(pl.Replicas) * w.PerReplica.MemoryGiB}
		if fits(tg.Capacity, load[from], back) {
			t.Errorf("%s moves from %s ($%.2f) to %s ($%.2f), within its $%.2f threshold, yet %s has room for it",
				w.Name, from, stay, pl.Target, float64(pl.MonthlyCost), thr, from)
		}
	}
}

// TestJointLeavePenalty: besides the swap of TestJointHysteresis (a leaves
// the limited dc for cloud at an $8 loss so that b, on dear, can take dc),
// tiny workloads run on the limited edge, where cloud is $0.25 cheaper:
// less than their $10 threshold, so hysteresis holds them, and as they sit
// on a limited target SolveJoint releases them too. A released workload
// must pay its threshold to leave in the joint solve, as SolveJoint charges
// it when judging the plan; were it free, the joint optimum would move
// every tiny workload and their thresholds would either sink the swap or
// ride along with it.
func TestJointLeavePenalty(t *testing.T) {
	// Storage prices make the monthly costs exact in binary: each workload
	// has 1 GB, so its cost on a target is that target's price.
	prices := map[string]float64{"cloud": 48, "dc": 40, "edge": 48.25}
	cases := map[string]struct {
		reason string
		dear   float64 // b's monthly cost where it runs
		tiny   int     // workloads on edge
		wantA  string
		wantB  string
	}{
		"tiny move would sink the swap": {"the swap saves $20.25 against $20 of thresholds; a tiny move would add $0.25 and $10", 68.25, 1, "cloud", "dc"},
		"several tiny moves":            {"a $51 saving against $20, sunk by six more $10 thresholds if the tiny workloads moved", 99, 6, "cloud", "dc"},
		"tiny moves would ride along":   {"the swap saves $112, enough for the thresholds of three tiny moves as well, which must still not be made", 160, 3, "cloud", "dc"},
		"swap does not pay":             {"a joint saving of exactly $20 is refused, tiny workloads or not", 68, 2, "dc", "dear"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prices := maps.Clone(prices)
			prices["dear"] = tc.dear
			targets := []meridian.Target{
				{Name: "cloud", Provider: meridian.ProviderAWS},
				{Name: "dc", Provider: meridian.ProviderOnPrem, Capacity: meridian.Capacity{VCPU: 4}},
				{Name: "dear", Provider: meridian.ProviderGCP},
				{Name: "edge", Provider: meridian.ProviderEdge, Capacity: meridian.Capacity{VCPU: 4 * float64(tc.tiny)}},
			}
			var rates []meridian.Rates
			for _, tg := range targets {
				rates = append(rates, meridian.Rates{StorageGBMonth: prices[tg.Name]})
			}
			// allowed names each workload's compliant targets; the rest are
			// denied, so that b's only way out is dc and the tiny
			// workloads' only way out is cloud.
			allowed := map[string][]string{"a": {"cloud", "dc"}, "b": {"dc", "dear"}}
			current := map[string][]string{"a": {"dc"}, "b": {"dear"}}
			for k := range tc.tiny {
				s := fmt.Sprintf("tiny%d", k)
				allowed[s], current[s] = []string{"cloud", "edge"}, []string{"edge"}
			}
			p := &Problem{Targets: targets, Rates: rates, Current: current,
				Settings: meridian.PlacementSettings{MinSavingPercent: 5, MinSavingUSD: 10}}
			for _, name := range slices.Sorted(maps.Keys(allowed)) {
				p.Workloads = append(p.Workloads, meridian.Workload{Name: name, Replicas: meridian.ReplicaRange{Min: 1, Max: 1}, PerReplica: meridian.PerReplica{VCPU: 4}, StorageGB: 1})
				row := make([][]meridian.Violation, len(targets))
				for q, tg := range targets {
					if !slices.Contains(allowed[name], tg.Name) {
						row[q] = deny("zone", name+" may not run on "+tg.Name)
					}
				}
				p.Violations = append(p.Violations, row)
			}

			res, err := SolveJoint(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			// checkProperties also holds the Stats to the true cost: a
			// lower bound at most the plan's cost and a gap >= 0.
			checkProperties(t, p, res)
			got := map[string]string{}
			for _, pl := range res.Placements {
				got[pl.Workload] = pl.Target
				if kept := "kept on current target edge by hysteresis"; strings.HasPrefix(pl.Workload, "tiny") && !strings.HasPrefix(pl.Explanation.Reason, kept) {
					t.Errorf("%s's reason %q does not say it is %s", pl.Workload, pl.Explanation.Reason, kept)
				}
				// The penalty steers the optimizer; the plan shows what
				// the placement costs.
				if want := prices[pl.Target]; float64(pl.MonthlyCost) != want {
					t.Errorf("%s on %s costs %v in the plan, want the true $%.2f", pl.Workload, pl.Target, pl.MonthlyCost, want)
				}
			}
			want := map[string]string{"a": tc.wantA, "b": tc.wantB}
			for k := range tc.tiny {
				want[fmt.Sprintf("tiny%d", k)] = "edge"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: placements (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
