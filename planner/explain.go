package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/scheduler"
)

// Explain recomputes the per-target detail of one workload of plan, which
// the plan document keeps grouped: every target with its verdict, monthly
// cost, rules and reasons, and the workload's placements with their
// reasons and runner-ups. target, when set, keeps that target's line
// only.
//
// cfg must be the config the plan was made from, and the planner's price
// catalog the plan's: Explain checks both by recomputing the plan's inputs
// digest from them and from what the document records of its other inputs
// (the ledger and every workload's sizing), and refuses a mismatch with
// ECONFLICT.
// Only the workload's own placement rules are evaluated, with those of the
// workloads sharing a limited target with it, so the cost does not grow
// with the size of the plan beyond reading it.
func (p *Planner) Explain(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, workload, target string) (*meridian.WorkloadExplanation, error) {
	if plan.SchemaVersion < meridian.PlanSchemaVersion {
		return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s was written with plan schema version %d, which records too little to explain it; plan again", plan.ID, max(1, plan.SchemaVersion))
	}
	wi := slices.IndexFunc(cfg.Workloads, func(w meridian.Workload) bool { return w.Name == workload })
	if wi < 0 {
		return nil, meridian.Errorf(meridian.ENOTFOUND, "workload %q is not in the config of plan %s", workload, plan.ID)
	}
	if target != "" && !slices.ContainsFunc(cfg.Targets, func(t meridian.Target) bool { return t.Name == target }) {
		return nil, meridian.Errorf(meridian.ENOTFOUND, "target %q is not in the config of plan %s", target, plan.ID)
	}
	sizing, err := recordedSizing(cfg, plan)
	if err != nil {
		return nil, err
	}
	catalog, err := p.catalogFor(cfg)
	if err != nil {
		return nil, err
	}
	id, err := planID(Input{Config: cfg, Commit: plan.Commit, Dirty: plan.Dirty, Current: plan.Current, Live: liveFindings(plan.Findings)}, catalog.Provenance(), sizing)
	if err != nil {
		return nil, err
	}
	if id != plan.InputsDigest {
		return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s was not made from this config and price catalog (its inputs digest is %s, theirs %s): explain it with the config at its commit",
			plan.ID, plan.InputsDigest, id)
	}
	rates := make([]meridian.Rates, len(cfg.Targets))
	for i := range cfg.Targets {
		if rates[i], err = providers.Resolve(catalog, &cfg.Targets[i]); err != nil {
			return nil, fmt.Errorf("price targets: %w", err)
		}
	}
	whole := &scheduler.Problem{Workloads: cfg.Workloads, Targets: cfg.Targets, Current: plan.Current}
	scope := scheduler.DetailScope(whole, wi)
	sub := &scheduler.Problem{Targets: cfg.Targets, Rates: rates, Current: plan.Current, Settings: cfg.Settings.Placement}
	for _, j := range scope {
		sub.Workloads = append(sub.Workloads, cfg.Workloads[j])
		sub.Replicas = append(sub.Replicas, sizing[j].Replicas)
	}
	engine, err := policies.New(ctx, cfg.Settings, cfg.Policies)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	matrix, err := engine.CheckPlacements(ctx, sub.Workloads, cfg.Targets)
	if err != nil {
		return nil, fmt.Errorf("check policies: %w", err)
	}
	sub.Violations = denyOnly(matrix)

	perReplica := make(map[string]meridian.PerReplica, len(cfg.Workloads))
	for _, w := range cfg.Workloads {
		perReplica[w.Name] = w.PerReplica
	}
	var chosen []string
	loads := make([]scheduler.Load, 0, len(plan.Placements))
	for _, pl := range plan.Placements {
		r := perReplica[pl.Workload]
		loads = append(loads, scheduler.Load{Target: pl.Target, VCPU: float64(pl.Replicas) * r.VCPU, MemoryGiB: float64(pl.Replicas) * r.MemoryGiB})
		if pl.Workload == workload {
			chosen = append(chosen, pl.Target)
		}
	}
	ex, err := scheduler.Detail(sub, chosen, loads)
	if err != nil {
		return nil, fmt.Errorf("explain %s in plan %s: %w", workload, plan.ID, err)
	}
	ex.PlanID, ex.Commit = plan.ID, plan.Commit
	if target != "" {
		ex.Targets = slices.DeleteFunc(ex.Targets, func(t meridian.TargetExplanation) bool { return t.Target != target })
	}
	return ex, nil
}

// recordedSizing is the sizing of every workload of cfg as plan records it,
// on its placements or as unplaceable.
func recordedSizing(cfg *meridian.Config, plan *meridian.Plan) ([]meridian.Sizing, error) {
	recorded := make(map[string]*meridian.Sizing, len(cfg.Workloads))
	for i := range plan.Placements {
		recorded[plan.Placements[i].Workload] = plan.Placements[i].Explanation.Sizing
	}
	for i := range plan.Unplaceable {
		recorded[plan.Unplaceable[i].Workload] = plan.Unplaceable[i].Sizing
	}
	out := make([]meridian.Sizing, len(cfg.Workloads))
	for i, w := range cfg.Workloads {
		s := recorded[w.Name]
		if s == nil {
			return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s records no sizing of workload %s: it was not made from this config", plan.ID, w.Name)
		}
		out[i] = *s
	}
	return out, nil
}
