package controlplane

import (
	"context"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
)

// Explainer recomputes the per-target detail of one workload of a plan
// from the config the plan was made from (planner.Planner.Explain).
type Explainer interface {
	Explain(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, workload, target string) (*meridian.WorkloadExplanation, error)
}

// Explain implements Explainer with the planner's price catalog, the one
// the server's plans are made with.
func (p *WorkflowPlanner) Explain(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, workload, target string) (*meridian.WorkloadExplanation, error) {
	pl, err := planner.New(planner.WithLogger(p.wfs.o.Logger), planner.WithCatalog(p.catalog))
	if err != nil {
		return nil, err
	}
	return pl.Explain(ctx, cfg, plan, workload, target)
}

// Explain returns the per-target detail of workload in the saved plan
// planID (see planner.Planner.Explain), target's line only when target is
// set. The config is read at the plan's commit. A reconciler whose
// Planner is not an Explainer explains with the embedded price catalog.
func (r *Reconciler) Explain(ctx context.Context, planID, workload, target string) (*meridian.WorkloadExplanation, error) {
	_, plan, err := r.SavedPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	cfg, err := r.config(ctx, plan.Commit)
	if err != nil {
		return nil, err
	}
	ex, ok := r.planner.(Explainer)
	if !ok {
		pl, err := planner.New(planner.WithLogger(r.log))
		if err != nil {
			return nil, err
		}
		ex = pl
	}
	return ex.Explain(ctx, cfg, plan, workload, target)
}
