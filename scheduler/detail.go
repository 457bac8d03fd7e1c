package scheduler

import (
	"slices"

	"github.com/meridianhq/meridian"
)

// Load is what one placement of a plan takes on its target.
type Load struct {
	Target string
	// VCPU and MemoryGiB are the placement's replicas times its workload's
	// per-replica resources.
	VCPU, MemoryGiB float64
}

// DetailScope returns the workloads of p that Detail needs in its Problem
// to explain workload w as Solve did: w first, then those pinned to or
// running on a capacity-limited target that w runs on, whose room decides
// whether the hysteresis rule holds w. p's Violations may be nil.
func DetailScope(p *Problem, w int) []int {
	scope := []int{w}
	limited := map[string]bool{}
	for _, name := range p.Current[p.Workloads[w].Name] {
		for k := range p.Targets {
			if p.Targets[k].Name == name && p.Targets[k].Capacity.Limited() {
				limited[name] = true
			}
		}
	}
	if len(limited) == 0 {
		return scope
	}
	for j := range p.Workloads {
		if j == w {
			continue
		}
		wj := &p.Workloads[j]
		if limited[wj.Pin] || slices.ContainsFunc(p.Current[wj.Name], func(t string) bool { return limited[t] }) {
			scope = append(scope, j)
		}
	}
	return scope
}

// Detail explains workload 0 of p target by target, as it stands in a
// plan that placed it on chosen (target names; none when the plan found
// it unplaceable) and whose placements take loads. p must hold the
// workloads DetailScope names, workload 0 first, and every target; the
// rest of its fields are as Solve was given them. The placements and
// reasons agree with Solve's: the same code makes them, on the same room.
func Detail(p *Problem, chosen []string, loads []Load) (*meridian.WorkloadExplanation, error) {
	if p == nil || len(p.Workloads) == 0 {
		return nil, meridian.Errorf(meridian.EINVALID, "scheduler: no workload to explain")
	}
	m, err := build(p)
	if err != nil {
		return nil, err
	}
	m.nameOrder()
	use := make([]float64, 2*len(m.caps))
	for _, l := range loads {
		t, ok := m.idx[l.Target]
		if !ok {
			return nil, meridian.Errorf(meridian.EINVALID, "scheduler: the plan places a workload on %s, which is not a declared target", l.Target)
		}
		if k := m.capOf[t]; k >= 0 {
			c := m.caps[k]
			use[2*k] += share(demand(l.VCPU), c.cv)
			use[2*k+1] += share(demand(l.MemoryGiB), c.cm)
		}
	}
	const i = 0
	w := &p.Workloads[i]
	on := make([]int, 0, len(chosen))
	for _, name := range chosen {
		t, ok := m.idx[name]
		if !ok {
			return nil, meridian.Errorf(meridian.EINVALID, "scheduler: the plan places %s on %s, which is not a declared target", w.Name, name)
		}
		on = append(on, int(t))
	}
	m.byNameOf(on)
	if len(on) > 0 && (m.ws[i].static != staticNone || len(on) != m.ws[i].n) {
		return nil, meridian.Errorf(meridian.EINVALID, "scheduler: the plan places %s on %d targets, which this config cannot", w.Name, len(on))
	}
	ex := &meridian.WorkloadExplanation{Workload: w.Name, Placements: []meridian.ExplainedPlacement{}}
	runners := map[int]bool{}
	for _, t := range on {
		pl := m.placement(i, t, on, use)
		ex.Placements = append(ex.Placements, meridian.ExplainedPlacement{Target: pl.Target, Replicas: pl.Replicas,
			MonthlyCost: pl.MonthlyCost, Reason: pl.Explanation.Reason, RunnerUp: pl.Explanation.RunnerUp})
		if r := pl.Explanation.RunnerUp; r != nil {
			runners[int(m.idx[r.Target])] = true
		}
	}
	order := make([]int, m.T)
	for t := range order {
		order[t] = t
	}
	slices.SortFunc(order, func(a, b int) int { return m.nearer(i, a, b) })
	ex.Targets = make([]meridian.TargetExplanation, 0, m.T)
	for _, t := range order {
		var te meridian.TargetExplanation
		if len(on) > 0 {
			te = m.placedVerdict(i, t, on, runners, use)
		} else {
			te = m.unplacedVerdict(i, t, use)
		}
		te.Target = p.Targets[t].Name
		if c := m.pairCost(i, t); finite(c) {
			cost := meridian.Money(c)
			te.MonthlyCost = &cost
		}
		if te.Rules == nil {
			te.Rules = []string{}
		}
		ex.Targets = append(ex.Targets, te)
	}
	if len(on) == 0 {
		ex.Unplaceable = m.unplaceable(i, use).Reason
	}
	return ex, nil
}

// placedVerdict says how target t fared for workload i, placed on chosen;
// runners are the runner-ups of its placements.
func (m *model) placedVerdict(i, t int, chosen []int, runners map[int]bool, use []float64) meridian.TargetExplanation {
	var te meridian.TargetExplanation
	rules, reasons, violated := m.rejection(i, t)
	te.Rules, te.Reasons = rules, reasons
	switch {
	case slices.Contains(chosen, t):
		te.Verdict = meridian.VerdictChosen
		return te
	case violated:
		te.Verdict = meridian.VerdictRejected
		return te
	}
	add := func(rule, reason string) {
		te.Rules, te.Reasons = append(te.Rules, rule), append(te.Reasons, reason)
	}
	st := m.pairState(i, t)
	if st == pairPinnedElsewhere {
		add(RulePin, "the workload is pinned to "+m.p.Workloads[i].Pin)
	}
	switch ok, why := m.room(i, t, use); {
	case st == pairBadCost || !finite(m.pairCost(i, t)):
		te.Verdict = meridian.VerdictRejected
		add(RulePrice, "the monthly cost is not a finite number")
	case !ok:
		te.Verdict = meridian.VerdictCapacityBlocked
		add(RuleCapacity, why)
	case runners[t]:
		te.Verdict = meridian.VerdictRunnerUp
	default:
		te.Verdict = meridian.VerdictAllowed
	}
	if st == pairHysteresis {
		add(RuleHysteresis, "moving here saves less than the hysteresis threshold")
	}
	return te
}

// unplacedVerdict says why unplaceable workload i could not use target t,
// as its plan's groups do.
func (m *model) unplacedVerdict(i, t int, use []float64) meridian.TargetExplanation {
	te := meridian.TargetExplanation{Verdict: meridian.VerdictRejected}
	if rules, reasons, ok := m.rejection(i, t); ok && m.pin[i] < 0 {
		te.Rules, te.Reasons = rules, reasons
		return te
	}
	why := m.unusable(i, t, use)
	c := why.causes[0] // the solver's own reasons come one at a time
	switch {
	case why.room == roomLeft:
		te.Verdict = meridian.VerdictAllowed
	case c.rule == RuleCapacity:
		te.Verdict = meridian.VerdictCapacityBlocked
	}
	te.Rules, te.Reasons = []string{c.rule}, []string{c.reason}
	return te
}
