package scheduler

import (
	"context"
	"fmt"
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
	limit := p.Settings.TimeLimit
	if limit <= 0 {
		limit = meridian.DefaultSettings().Placement.TimeLimit
	}
	tol := p.Settings.GapTolerance
	if tol <= 0 {
		tol = meridian.DefaultSettings().Placement.GapTolerance
	}
	built := time.Now()
	s := newSolver(ctx, m, start.Add(limit), tol)
	if err := s.run(); err != nil {
		return nil, fmt.Errorf("scheduler: solve %d workloads on %d targets: %w", len(p.Workloads), len(p.Targets), err)
	}
	searched := time.Now()
	res := s.result()
	res.Stats.Seconds = time.Since(start).Seconds()
	res.Timings = Timings{Build: built.Sub(start), Search: searched.Sub(built), Explain: time.Since(searched)}
	return res, nil
}
