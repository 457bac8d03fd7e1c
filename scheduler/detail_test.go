package scheduler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// detailOf explains workload w of p as it stands in res, the way the
// planner does: on the workloads DetailScope names, with the loads of
// every placement.
func detailOf(t *testing.T, p *Problem, res *Result, w int) *meridian.WorkloadExplanation {
	t.Helper()
	scope := DetailScope(p, w)
	sub := &Problem{Targets: p.Targets, Rates: p.Rates, Current: p.Current, Settings: p.Settings}
	for _, j := range scope {
		sub.Workloads = append(sub.Workloads, p.Workloads[j])
		if p.Replicas != nil {
			sub.Replicas = append(sub.Replicas, p.Replicas[j])
		}
		if p.Violations != nil {
			sub.Violations = append(sub.Violations, p.Violations[j])
		}
	}
	byName := map[string]*meridian.Workload{}
	for i := range p.Workloads {
		byName[p.Workloads[i].Name] = &p.Workloads[i]
	}
	var chosen []string
	var loads []Load
	for _, pl := range res.Placements {
		pw := byName[pl.Workload]
		loads = append(loads, Load{Target: pl.Target, VCPU: float64(pl.Replicas) * pw.PerReplica.VCPU, MemoryGiB: float64(pl.Replicas) * pw.PerReplica.MemoryGiB})
		if pl.Workload == p.Workloads[w].Name {
			chosen = append(chosen, pl.Target)
		}
	}
	ex, err := Detail(sub, chosen, loads)
	if err != nil {
		t.Fatalf("detail of %s: %v", p.Workloads[w].Name, err)
	}
	return ex
}

// checkGroups checks the plan's groups against the per-target detail:
// each group holds exactly the targets whose detail names its rule and
// reason (a folded group: its rule with none of the kept reasons), and
// names the first of them in the detail's nearest-first order.
func checkGroups(t *testing.T, what string, groups []meridian.RejectionGroup, targets []meridian.TargetExplanation, only func(meridian.TargetExplanation) bool) {
	t.Helper()
	kept := map[string][]string{}
	for _, g := range groups {
		if g.OtherReasons == 0 {
			kept[g.Rule] = append(kept[g.Rule], g.Reason)
		}
	}
	for _, g := range groups {
		var in []string
		for _, te := range targets {
			if !only(te) || !slices.Contains(te.Rules, g.Rule) {
				continue
			}
			match := slices.Contains(te.Reasons, g.Reason) || g.Reason == "" && len(te.Reasons) == 0
			if g.OtherReasons > 0 {
				match = slices.ContainsFunc(te.Reasons, func(r string) bool { return !slices.Contains(kept[g.Rule], r) })
			}
			if match {
				in = append(in, te.Target)
			}
		}
		if len(in) != g.Count {
			t.Errorf("%s: group %s %q (+%d) counts %d targets, the detail has %d: %v", what, g.Rule, g.Reason, g.OtherReasons, g.Count, len(in), in)
			continue
		}
		if want := in[:min(len(in), meridian.NearestTargets)]; !slices.Equal(g.Nearest, want) {
			t.Errorf("%s: group %s %q names %v, the nearest in the detail are %v", what, g.Rule, g.Reason, g.Nearest, want)
		}
	}
}

// TestDetailAgreesWithPlan explains every workload of generated plans and
// checks the detail against what Solve wrote: the same placements,
// reasons and runner-ups, groups that hold exactly the targets the detail
// rejects for their rule and reason, and the verdicts of the named
// targets. Tightened capacity makes unplaceable workloads and
// capacity-blocked targets; ledgers make hysteresis and migration.
func TestDetailAgreesWithPlan(t *testing.T) {
	problems := map[string]*Problem{}
	for seed := range int64(3) {
		problems[fmt.Sprintf("estate-%d", seed)] = Generate(seed, 80, 14)
		p := Generate(seed+10, 80, 14)
		for k := range p.Targets {
			if c := &p.Targets[k].Capacity; c.Limited() {
				c.VCPU, c.MemoryGiB = c.VCPU*0.4, c.MemoryGiB*0.4
			}
		}
		// Every fifth workload may not use a cloud: the limited targets
		// must hold them, and cannot hold them all.
		for i := 0; i < len(p.Workloads); i += 5 {
			for k := range p.Targets {
				if !p.Targets[k].Capacity.Limited() {
					p.Violations[i][k] = append(p.Violations[i][k], meridian.Violation{Rule: "on-prem-only", Severity: meridian.SeverityDeny, Message: "must run on a limited site"})
				}
			}
		}
		// The agreement holds for any incumbent, optimal or not.
		p.Settings.TimeLimit = 200 * time.Millisecond
		problems[fmt.Sprintf("tight-%d", seed)] = p
		problems[fmt.Sprintf("sites-%d", seed)] = GenerateSites(seed, 80, 14)
	}
	unplaced, blocked := 0, 0
	for name, p := range problems {
		res, err := Solve(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		byWorkload := map[string][]meridian.Placement{}
		for _, pl := range res.Placements {
			byWorkload[pl.Workload] = append(byWorkload[pl.Workload], pl)
		}
		unplaceable := map[string]meridian.Unplaceable{}
		for _, u := range res.Unplaceable {
			unplaceable[u.Workload] = u
		}
		for i := range p.Workloads {
			wname := p.Workloads[i].Name
			what := name + "/" + wname
			ex := detailOf(t, p, res, i)
			if len(ex.Targets) != len(p.Targets) {
				t.Fatalf("%s: detail of %d targets, want %d", what, len(ex.Targets), len(p.Targets))
			}
			verdict := map[string]meridian.Verdict{}
			for _, te := range ex.Targets {
				verdict[te.Target] = te.Verdict
			}
			if u, ok := unplaceable[wname]; ok {
				unplaced++
				if len(ex.Placements) != 0 || ex.Unplaceable != u.Reason {
					t.Errorf("%s: detail says placed on %v, unplaceable %q; the plan: %q", what, ex.Placements, ex.Unplaceable, u.Reason)
				}
				checkGroups(t, what, u.Targets, ex.Targets, func(meridian.TargetExplanation) bool { return true })
				continue
			}
			pls := byWorkload[wname]
			var want []meridian.ExplainedPlacement
			for _, pl := range pls {
				want = append(want, meridian.ExplainedPlacement{Target: pl.Target, Replicas: pl.Replicas, MonthlyCost: pl.MonthlyCost,
					Reason: pl.Explanation.Reason, RunnerUp: pl.Explanation.RunnerUp})
				if r := pl.Explanation.RunnerUp; r != nil && verdict[r.Target] != meridian.VerdictRunnerUp {
					t.Errorf("%s: runner-up %s has verdict %s", what, r.Target, verdict[r.Target])
				}
				for _, cb := range pl.Explanation.CapacityBlocked {
					blocked++
					if verdict[cb.Target] != meridian.VerdictCapacityBlocked {
						t.Errorf("%s: capacity-blocked %s has verdict %s", what, cb.Target, verdict[cb.Target])
					}
				}
				if verdict[pl.Target] != meridian.VerdictChosen {
					t.Errorf("%s: chosen %s has verdict %s", what, pl.Target, verdict[pl.Target])
				}
			}
			if diff := cmp.Diff(want, ex.Placements); diff != "" {
				t.Errorf("%s: placements differ from the plan (-plan +detail):\n%s", what, diff)
			}
			rejected := func(te meridian.TargetExplanation) bool {
				return te.Verdict == meridian.VerdictRejected && len(p.Violations[i][slices.IndexFunc(p.Targets, func(tg meridian.Target) bool { return tg.Name == te.Target })]) > 0
			}
			n := 0
			for _, te := range ex.Targets {
				if rejected(te) {
					n++
				}
			}
			if ex := pls[0].Explanation; ex.RejectedCount != n {
				t.Errorf("%s: the plan counts %d rejected targets, the detail %d", what, ex.RejectedCount, n)
			}
			checkGroups(t, what, pls[0].Explanation.Rejected, ex.Targets, rejected)
		}
	}
	// The generator must keep making the cases worth checking.
	if unplaced == 0 || blocked == 0 {
		t.Errorf("%d unplaceable workloads and %d capacity-blocked targets explained: the problems exercise too little", unplaced, blocked)
	}
}
