package deploy

import (
	"context"

	"github.com/meridianhq/meridian"
)

// Preview computes what the next apply would commit to the deploy repo, for
// `meridian plan`: the files the first commit adds, changes and removes,
// with unified diffs, and the old placements it keeps for moves. It writes
// nothing (a missing local deploy repository is read as empty). Problems
// reading the repository are reported in DeployDiff.Error rather than
// failing the plan.
func Preview(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, opts Options) *meridian.DeployDiff {
	s := resolve(cfg.Settings)
	out := &meridian.DeployDiff{Branch: s.Branch, Path: s.Path, Files: []meridian.DeployFile{}}
	a, err := newApplier(cfg, opts, false)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	a.repo.readOnly = true
	out.Repo = a.repo.name
	snap, _, tree, moves, err := a.render(ctx, plan)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Base = snap.Head()
	out.Files = Diff(snap.tree, tree, s.Path)
	for _, m := range moves {
		for _, t := range m.From {
			h := meridian.HeldPlacement{Workload: m.Workload, Target: t, Until: m.To}
			h.Files, h.Resources = placementFiles(snap.tree, m.Workload, t, s.Path)
			out.Held = append(out.Held, h)
		}
	}
	return out
}

// Next returns the tree the next apply's first commit would hold, which
// `meridian render` writes out: the rendered plan, plus what the deploy repo
// keeps for moves in progress and for workloads held by a blocking finding.
// It reads the deploy repository (a missing local one is empty) and writes
// nothing.
func Next(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, opts Options) (*Rendered, error) {
	a, err := newApplier(cfg, opts, false)
	if err != nil {
		return nil, err
	}
	a.repo.readOnly = true
	_, rendered, tree, _, err := a.render(ctx, plan)
	if err != nil {
		return nil, err
	}
	return &Rendered{Tree: tree, Findings: rendered.Findings}, nil
}

// Previewer fills plan.Deploy for the planner (planner.WithDeploy).
type Previewer struct {
	Options Options
}

// PreviewDeploy implements planner.DeployPreviewer.
func (p Previewer) PreviewDeploy(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan) *meridian.DeployDiff {
	return Preview(ctx, cfg, plan, p.Options)
}
