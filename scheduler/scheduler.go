package scheduler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
)

// Problem is one placement instance.
type Problem struct {
	Workloads []meridian.Workload
	Targets   []meridian.Target
	// Rates[t] are the resolved unit prices of Targets[t].
	Rates []meridian.Rates
	// Replicas[w] is the desired total replica count of Workloads[w] before
	// spread clamping (see meridian.Workload.SplitReplicas). A nil slice
	// means every workload runs at its replicas.min.
	Replicas []int
	// Violations[w][t] are the deny-severity placement-policy violations of
	// Workloads[w] on Targets[t]; empty means compliant. A nil outer or inner
	// slice means compliant.
	Violations [][][]meridian.Violation
	// Current maps a workload name to the targets it runs on now, per the
	// applied-state ledger; nil means nothing is current.
	Current map[string][]string
	// Settings holds the gap tolerance, time limit, hysteresis and migration
	// amortization. Zero GapTolerance and TimeLimit take the defaults.
	Settings meridian.PlacementSettings
}

// Result is a placement plan with its quality.
type Result struct {
	// Placements holds one entry per (workload, chosen target), in workload
	// input order, then by target name.
	Placements []meridian.Placement
	// Unplaceable lists, in workload input order, the workloads that could
	// not be placed, with the reason for every target.
	Unplaceable []meridian.Unplaceable
	// Stats reports the method, the proven lower bound and the gap.
	Stats meridian.SolverStats
	// Timings says how long the parts of Solve took. Like Stats.Seconds,
	// it is for benchmarks and logs, never for the plan.
	Timings Timings
}

// Timings is how long the parts of one Solve call took.
type Timings struct {
	Build   time.Duration // validating the problem and building the model
	Search  time.Duration // the bound and placement search
	Explain time.Duration // the placements with their explanations
}

// Solve places every workload of p at minimum total monthly cost (compute,
// storage, egress and amortized migration) subject to policy, capacity,
// spread, pins and hysteresis.
//
// The result is optimal when Stats.Optimal is set; otherwise its cost is
// within Stats.GapPercent of the proven Stats.LowerBound. Solve stops at
// Settings.GapTolerance or when its work budget is spent, and is
// deterministic unless Settings.TimeLimit, a safety net, stops it first
// (Stats.Method then says so). When workloads must be left out
// because capacity runs short, Solve first minimizes how many are left out
// and then the cost of the rest. Solve returns an error only for a
// structurally inconsistent Problem or a cancelled ctx.
func Solve(ctx context.Context, p *Problem) (*Result, error) {
	start := time.Now()
	m, err := build(p)
	if err != nil {
		return nil, err
	}
	return solveModel(ctx, m, start)
}

// SolveJoint is Solve with hysteresis judged on sets of moves, as the
// ledger of `meridian plan` and apply has it. Solve judges each move
// alone, so a swap that pays only jointly (A leaves a limited target, at
// a loss, for B, which saves much more there) is never taken. SolveJoint
// solves again with hysteresis lifted for the workloads it holds on a
// limited current target, and keeps that plan when it leaves out no more
// workloads and saves more than the sum of the hysteresis thresholds of
// the workloads it places differently: moves that do not pay together
// are still refused. It solves once when nothing is held on a limited
// target, twice otherwise.
func SolveJoint(ctx context.Context, p *Problem) (*Result, error) {
	start := time.Now()
	m, err := build(p)
	if err != nil {
		return nil, err
	}
	res, err := solveModel(ctx, m, start)
	if err != nil {
		return nil, err
	}
	release := m.releasable()
	if release == nil {
		return res, nil
	}
	again := time.Now()
	mj, err := buildReleasing(p, release)
	if err != nil {
		return nil, err
	}
	joint, err := solveModel(ctx, mj, again)
	if err != nil {
		return nil, err
	}
	if len(joint.Unplaceable) > len(res.Unplaceable) || !(totalCost(res)-totalCost(joint) > m.churnThreshold(res, joint)) {
		return res, nil
	}
	joint.Stats.Seconds = time.Since(start).Seconds()
	joint.Timings.Build += res.Timings.Build
	joint.Timings.Search += res.Timings.Search
	joint.Timings.Explain += res.Timings.Explain
	return joint, nil
}

// solveModel runs the optimizer on m; start is when building m began.
func solveModel(ctx context.Context, m *model, start time.Time) (*Result, error) {
	p := m.p
	limit := p.Settings.TimeLimit
	if limit <= 0 {
		limit = meridian.DefaultSettings().Placement.TimeLimit
	}
	tol := p.Settings.GapTolerance
	if tol <= 0 {
		tol = meridian.DefaultSettings().Placement.GapTolerance
	}
	built := time.Now()
	s := newSolver(ctx, m, built.Add(limit), tol)
	if err := s.run(); err != nil {
		return nil, fmt.Errorf("scheduler: solve %d workloads on %d targets: %w", len(p.Workloads), len(p.Targets), err)
	}
	searched := time.Now()
	res := s.result()
	res.Stats.Seconds = time.Since(start).Seconds()
	res.Timings = Timings{Build: built.Sub(start), Search: searched.Sub(built), Explain: time.Since(searched)}
	return res, nil
}

// totalCost is what res's placements cost a month, amortized migration
// included: the optimizer's objective.
func totalCost(res *Result) float64 {
	var c meridian.Money
	for _, pl := range res.Placements {
		c += pl.MonthlyCost
	}
	return float64(c)
}

// releasable marks the workloads whose release could make a joint move
// pay: those hysteresis holds on a current target with limited capacity,
// where the room they take may be worth more to others. Nil when there is
// none (without limited capacity workloads are independent, and moves
// that each save less than their threshold cannot save more than the sum
// of the thresholds together).
func (m *model) releasable() []bool {
	var release []bool
	for i := range m.ws {
		ws := &m.ws[i]
		if !ws.held || !slices.ContainsFunc(ws.current, func(t int32) bool { return m.capOf[t] >= 0 }) {
			continue
		}
		if release == nil {
			release = make([]bool, len(m.ws))
		}
		release[i] = true
	}
	return release
}

// churnThreshold is the sum of the hysteresis thresholds of the workloads
// that joint places on other targets than res does, each on what it costs
// where it runs now (a workload new to the ledger has no threshold).
func (m *model) churnThreshold(res, joint *Result) float64 {
	targets := func(r *Result) map[string][]string {
		out := map[string][]string{}
		for _, pl := range r.Placements {
			out[pl.Workload] = append(out[pl.Workload], pl.Target)
		}
		return out
	}
	a, b := targets(res), targets(joint)
	thr := 0.0
	for i := range m.ws {
		name := m.p.Workloads[i].Name
		if slices.Equal(a[name], b[name]) || len(m.ws[i].current) == 0 {
			continue
		}
		here := math.Inf(1)
		for _, c := range m.ws[i].current {
			here = min(here, m.pairCost(i, int(c)))
		}
		thr += m.threshold(here)
	}
	return thr
}
