package planner

import (
	"context"
	"time"
)

// Timings is how long each stage of one Plan call took. It is kept out of
// the plan, so that a plan stays a pure function of its inputs; benchmarks
// and `meridian plan --timings` read it.
type Timings struct {
	Policy    time.Duration // compiling and evaluating the policies
	Forecast  time.Duration // pricing the targets and sizing the workloads
	Solve     time.Duration // building the placement model and searching it
	Explain   time.Duration // the placements' explanations and findings, and the plan's assembly
	Terraform time.Duration // Terraform's change summary per target
	Deploy    time.Duration // the deploy-repo preview
}

type timingsKey struct{}

// WithTimings returns a context under which Plan records its stage
// timings in t.
func WithTimings(ctx context.Context, t *Timings) context.Context {
	return context.WithValue(ctx, timingsKey{}, t)
}

// timingsFrom returns the Timings ctx carries, or one nobody reads, so
// that Plan records its stages unconditionally.
func timingsFrom(ctx context.Context) *Timings {
	if t, ok := ctx.Value(timingsKey{}).(*Timings); ok && t != nil {
		return t
	}
	return &Timings{}
}

// stopwatch returns a function that returns the time since it was last
// called, or since stopwatch was.
func stopwatch() func() time.Duration {
	last := time.Now()
	return func() time.Duration {
		now := time.Now()
		d := now.Sub(last)
		last = now
		return d
	}
}
