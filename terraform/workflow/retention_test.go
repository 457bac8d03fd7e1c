package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// TestPlanRetentionCleansStateDir: saving a plan prunes the repo's plans
// past the newest ones of their ref, and their artefact folders go with
// them; the applied plan's folder stays (drift checks and re-applies read
// it), a folder without a plan goes once it is old, a plan made but not
// saved leaves no folder, and applying a pruned plan says it was pruned.
func TestPlanRetentionCleansStateDir(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{PlanRetention: 2})
	plansDir := filepath.Join(f.stateDir, "plans", f.src.RepoID())
	applied, _ := f.applyAll(t, wf, placements{"east": {"api": 1}})

	// Folders no saved plan owns: one left long ago, one being made now.
	for _, name := range []string{"orphan-old", ".pending-old", "orphan-new"} {
		if err := os.MkdirAll(filepath.Join(plansDir, name, "east"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"orphan-old", ".pending-old"} {
		if err := os.Chtimes(filepath.Join(plansDir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(pl placements, save bool) *meridian.Plan {
		t.Helper()
		s, err := wf.Begin(ctx, store.RunPlan, f.src, workflow.ModePlan)
		if err != nil {
			t.Fatal(err)
		}
		p := pl.plan()
		err = s.PlanTerraform(ctx, f.cfg, os.DirFS(f.repoDir), p)
		if err == nil && save {
			err = s.SavePlan(ctx, p)
		}
		s.Close(err, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var made []*meridian.Plan
	for i := range 3 {
		made = append(made, plan(placements{"east": {"api": 2 + i}}, true))
	}
	exists := func(id string) bool {
		_, err := os.Stat(filepath.Join(plansDir, id))
		return err == nil
	}
	for _, p := range []*meridian.Plan{applied, made[1], made[2]} {
		if !exists(p.ID) {
			t.Errorf("plan %s is kept, and so must its artefacts be", p.ID)
		}
		if _, err := db.GetPlan(ctx, p.ID); err != nil {
			t.Errorf("plan %s must be kept: %v", p.ID, err)
		}
	}
	pruned := made[0].ID
	if exists(pruned) {
		t.Errorf("the artefacts of pruned plan %s are still there", pruned)
	}
	if _, err := db.GetPlan(ctx, pruned); !store.IsPlanPruned(err) {
		t.Errorf("GetPlan(%s) = %v, want it pruned", pruned, err)
	}
	for name, want := range map[string]bool{"orphan-old": false, ".pending-old": false, "orphan-new": true} {
		if exists(name) != want {
			t.Errorf("folder %s there: %t, want %t (gone once older than the grace)", name, !want, want)
		}
	}

	unsaved := plan(placements{"east": {"api": 9}}, false)
	if exists(unsaved.ID) {
		t.Errorf("a plan made but not saved left its artefacts %s", unsaved.ID)
	}
	if _, err := db.GetPlan(ctx, unsaved.ID); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("a plan that was not saved: %v, want ENOTFOUND", err)
	}

	s, err := wf.Begin(ctx, store.RunApply, f.src, workflow.ModeApply)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(ctx, pruned, nil)
	s.Close(err, nil)
	if !store.IsPlanPruned(err) {
		t.Errorf("applying a pruned plan: %v, want the store's pruned-plan error", err)
	}
}
