package planner_test

import (
	"context"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
)

// previewer records what the planner hands it.
type previewer struct{ gotID string }

func (p *previewer) PreviewDeploy(_ context.Context, _ *meridian.Config, plan *meridian.Plan) *meridian.DeployDiff {
	p.gotID = plan.ID
	return &meridian.DeployDiff{Branch: "main", Files: []meridian.DeployFile{{Path: "apps/a/b.yaml", Action: meridian.DeployAdd}}}
}

func TestPlanWithDeployPreview(t *testing.T) {
	cfg, fsys := repo(t, nil)
	pv := &previewer{}
	p, err := planner.New(planner.WithDeploy(pv))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Commit: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Deploy == nil || len(pl.Deploy.Files) != 1 {
		t.Fatalf("plan.Deploy not filled: %+v", pl.Deploy)
	}
	if pv.gotID == "" || pv.gotID != pl.ID {
		t.Errorf("the previewer must see the finished plan (ID %q), saw %q", pl.ID, pv.gotID)
	}
	// Without WithDeploy, no deploy section and no repo read.
	if pl := plan(t, cfg, fsys, nil); pl.Deploy != nil {
		t.Errorf("plan without WithDeploy has a deploy section: %+v", pl.Deploy)
	}
}
