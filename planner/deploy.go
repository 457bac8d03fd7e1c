package planner

import (
	"context"

	"github.com/meridianhq/meridian"
)

// DeployPreviewer computes the deploy-repo change an apply of the plan
// would commit (plan.Deploy): the Argo CD and Crossplane files added,
// changed and removed, with unified diffs. Problems reading the deploy repo
// go into DeployDiff.Error; they never fail the plan. gitops/deploy's
// Previewer implements it.
type DeployPreviewer interface {
	PreviewDeploy(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan) *meridian.DeployDiff
}

// WithDeploy makes Plan fill plan.Deploy after placement. Without it, a
// plan has no deploy section and reads no deploy repo.
func WithDeploy(d DeployPreviewer) Option { return func(p *Planner) { p.deploy = d } }

// previewDeploy runs the deploy preview, if any, on a finished plan.
func (p *Planner) previewDeploy(ctx context.Context, in *Input, plan *meridian.Plan) {
	if p.deploy == nil {
		return
	}
	plan.Deploy = p.deploy.PreviewDeploy(ctx, in.Config, plan)
}
