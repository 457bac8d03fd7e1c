package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/storetest"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// withoutTarget drops a target from the fixture's config, as deleting its
// file from the config repo does.
func (f *fixture) withoutTarget(name string) {
	f.cfg.Targets = slices.DeleteFunc(f.cfg.Targets, func(t meridian.Target) bool { return t.Name == name })
}

func (f *fixture) workspace(target string) string {
	return filepath.Join(f.stateDir, "workspaces", f.src.RepoID(), target)
}

// stateResources counts the resource instances of a local-backend
// workspace's state.
func (f *fixture) stateResources(t *testing.T, target string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.workspace(target), "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := terraform.CountResources(b)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDecommissionTarget: a target removed from the config gets a destroy
// plan of its workspace (the module it was last applied with), applying it
// destroys every resource and takes the target out of the ledger, and the
// workspace is collected once its retention has passed.
func TestDecommissionTarget(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()
	f.applyAll(t, wf, initial)
	if n := f.stateResources(t, "west"); n != 2 {
		t.Fatalf("west holds %d resources after the first apply, want 2", n)
	}

	f.withoutTarget("west")
	plan := placements{"east": {"api": 2, "web": 1, "etl": 1}}.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := meridian.TargetChange{Target: "west", Module: "tf/app", Status: meridian.ChangeStatusChanges, Add: []string{}, Change: []string{}, Replace: []string{},
		Destroy: []string{`terraform_data.rollout["etl"]`, `terraform_data.workload["etl"]`}, Outputs: []string{"replicas", "token"}, Decommission: true}
	if diff := cmp.Diff(want, changes(plan)["west"]); diff != "" {
		t.Errorf("the removed target's change must be a destroy plan of its workspace (-want +got):\n%s", diff)
	}
	if len(plan.Destroy) != 0 {
		t.Errorf("the Terraform stage lists only protected targets itself: %+v", plan.Destroy)
	}
	res, err := s.Apply(ctx, plan.ID, nil)
	s.Close(err, res)
	if err != nil || res.Failed() {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if n := f.stateResources(t, "west"); n != 0 {
		t.Errorf("west holds %d resources after its destroy, want none", n)
	}
	if diff := cmp.Diff([]string{"east"}, storetest.AppliedTargetNames(t, db, f.src.RepoID())); diff != "" {
		t.Errorf("applied targets after the destroy (-want +got):\n%s", diff)
	}
	ledger, err := workflow.Current(ctx, db, f.src.RepoID())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"api": {"east"}, "web": {"east"}, "etl": {"east"}}, ledger); diff != "" {
		t.Errorf("ledger after the destroy (-want +got):\n%s", diff)
	}
	if evs, _ := db.ListAudit(ctx, store.AuditFilter{Action: "target.decommissioned", Target: "west"}); len(evs) != 1 {
		t.Errorf("audit log: %d target.decommissioned events for west, want 1", len(evs))
	}

	// The next plan has nothing of west: it is no longer applied.
	replan := placements{"east": {"api": 2, "web": 1, "etl": 1}}.plan()
	s, err = f.planSession(ctx, wf, replan)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := changes(replan)["west"]; ok {
		t.Errorf("a destroyed target is planned again: %+v", replan.Terraform)
	}

	// The workspace stays for the retention, counted from the destroy.
	now := time.Now()
	removed, kept, err := s.CollectWorkspaces(ctx, f.cfg, time.Hour, now)
	if err != nil || len(removed)+len(kept) != 0 {
		t.Fatalf("collection within the retention: removed %v, kept %v, %v", removed, kept, err)
	}
	if _, err := os.Stat(f.workspace("west")); err != nil {
		t.Fatalf("the workspace must stay within its retention: %v", err)
	}
	removed, _, err = s.CollectWorkspaces(ctx, f.cfg, time.Hour, now.Add(2*time.Hour))
	s.Close(err, nil)
	if err != nil || !slices.Equal(removed, []string{"west"}) {
		t.Fatalf("collection past the retention removed %v, %v; want west", removed, err)
	}
	if _, err := os.Stat(f.workspace("west")); !os.IsNotExist(err) {
		t.Errorf("west's workspace is still there: %v", err)
	}
	if _, err := os.Stat(f.workspace("east")); err != nil {
		t.Errorf("a live target's workspace must never be collected: %v", err)
	}
}

// TestProtectedTargetIsNotDestroyed: a target recorded as protect: true
// that leaves the config is listed as protected, gets no destroy plan, and
// the apply leaves its state and ledger rows alone.
func TestProtectedTargetIsNotDestroyed(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()
	f.applyAll(t, wf, initial)
	if err := db.SaveProtection(ctx, f.src.RepoID(), map[string]bool{"west": true}); err != nil {
		t.Fatal(err)
	}
	f.withoutTarget("west")
	plan, res := f.applyAll(t, wf, placements{"east": {"api": 2, "web": 1, "etl": 1}})
	if _, ok := changes(plan)["west"]; ok {
		t.Errorf("a protected target must not be planned for destruction: %+v", plan.Terraform)
	}
	want := []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "west", Reason: meridian.DestroyRemoved, Protected: true}}
	if diff := cmp.Diff(want, plan.Destroy); diff != "" {
		t.Errorf("destroy section (-want +got):\n%s", diff)
	}
	if res.Failed() || f.stateResources(t, "west") != 2 {
		t.Errorf("the protected target's state must be untouched: %d resources, result %+v", f.stateResources(t, "west"), res.Targets)
	}
	if diff := cmp.Diff([]string{"east", "west"}, storetest.AppliedTargetNames(t, db, f.src.RepoID())); diff != "" {
		t.Errorf("applied targets (-want +got):\n%s", diff)
	}

	// The same target protected in the config while its module goes away
	// (engine changed): still protected, for that reason.
	f = newFixture(t)
	db = f.open(t)
	wf = f.workflow(t, db, workflow.Options{})
	f.applyAll(t, wf, initial)
	for i := range f.cfg.Targets {
		if f.cfg.Targets[i].Name == "west" {
			f.cfg.Targets[i].Terraform, f.cfg.Targets[i].Engine, f.cfg.Targets[i].Protect = nil, meridian.EngineCrossplane, true
		}
	}
	plan = placements{"east": {"api": 2, "web": 1, "etl": 1}}.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	want[0].Reason = meridian.DestroyNoTerraform
	if diff := cmp.Diff(want, plan.Destroy); diff != "" {
		t.Errorf("engine changed, protect: true (-want +got):\n%s", diff)
	}
}

// TestCollectOrphanedWorkspaces: a workspace with no target and no state
// is removed after its retention, counted from the first collection that
// saw it; one whose state still holds resources is never removed.
func TestCollectOrphanedWorkspaces(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()
	for name, state := range map[string]string{
		"planned-once": "",
		"hand-made":    `{"version": 4, "serial": 3, "resources": [{"type": "terraform_data", "name": "x", "instances": [{"attributes": {}}]}]}`,
	} {
		if err := os.MkdirAll(f.workspace(name), 0o700); err != nil {
			t.Fatal(err)
		}
		if state != "" {
			if err := os.WriteFile(filepath.Join(f.workspace(name), "terraform.tfstate"), []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := wf.Begin(ctx, store.RunApply, f.src, workflow.ModeApply)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil, nil)
	now := time.Now()
	for i, step := range []struct {
		at                time.Time
		retention         time.Duration
		removed, keptWant []string
	}{
		{now, time.Hour, nil, []string{"hand-made"}},
		{now.Add(30 * time.Minute), time.Hour, nil, []string{"hand-made"}},
		{now.Add(90 * time.Minute), 0, nil, nil}, // retention 0 keeps everything
		{now.Add(90 * time.Minute), time.Hour, []string{"planned-once"}, []string{"hand-made"}},
	} {
		removed, kept, err := s.CollectWorkspaces(ctx, f.cfg, step.retention, step.at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(removed, step.removed) || !slices.Equal(kept, step.keptWant) {
			t.Errorf("step %d: removed %v, kept %v; want %v, %v", i, removed, kept, step.removed, step.keptWant)
		}
	}
	if _, err := os.Stat(f.workspace("hand-made")); err != nil {
		t.Errorf("a workspace with state must stay: %v", err)
	}
}

// TestDecommissionElsewhere: a workflow whose state dir does not hold the
// removed target's artefacts (a pull request's) skips its destruction with
// a warning instead of blocking the plan, and saves nothing to apply.
func TestDecommissionElsewhere(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	f.applyAll(t, f.workflow(t, db, workflow.Options{}), initial)
	r, err := terraform.New(context.Background(), f.bin, terraform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := workflow.New(db, r, workflow.Options{StateDir: t.TempDir(), Owner: store.Owner{Actor: "pr"}})
	if err != nil {
		t.Fatal(err)
	}
	f.withoutTarget("west")
	plan := placements{"east": {"api": 2, "web": 1, "etl": 1}}.plan()
	s, err := pr.Begin(context.Background(), store.RunPlan, f.src, workflow.ModePlan)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil, nil)
	if err := s.PlanTerraform(context.Background(), f.cfg, os.DirFS(f.repoDir), plan); err != nil {
		t.Fatal(err)
	}
	if c := changes(plan)["west"]; c.Status != meridian.ChangeStatusSkipped || !c.Decommission {
		t.Errorf("west elsewhere: %+v, want a skipped decommission", c)
	}
	var rules []string
	for _, fd := range plan.Findings {
		if fd.Target == "west" {
			rules = append(rules, string(fd.Severity)+" "+fd.Rule)
		}
	}
	if diff := cmp.Diff([]string{"warn " + workflow.RuleDecommissionSkipped}, rules); diff != "" {
		t.Errorf("findings on west (-want +got):\n%s", diff)
	}
	if err := s.SavePlan(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	rec, err := db.GetPlan(context.Background(), plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range rec.Targets {
		if pt.Target == "west" {
			t.Errorf("a skipped decommission was saved for apply: %+v", pt)
		}
	}
}
