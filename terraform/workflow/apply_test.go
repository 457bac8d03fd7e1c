package workflow_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

var initial = placements{"east": {"api": 2, "web": 1}, "west": {"etl": 1}}

// TestApplyEndToEnd plans, applies, re-plans (no changes), then changes a
// workload and checks the new plan shows exactly that update.
func TestApplyEndToEnd(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()

	plan, res := f.applyAll(t, wf, initial)
	want := map[string]meridian.TargetChange{
		"east": {Target: "east", Module: "tf/app", Status: meridian.ChangeStatusChanges,
			Add:    []string{`terraform_data.rollout["api"]`, `terraform_data.rollout["web"]`, `terraform_data.workload["api"]`, `terraform_data.workload["web"]`},
			Change: []string{}, Replace: []string{}, Destroy: []string{}, Outputs: []string{"replicas", "token"}},
		"west": {Target: "west", Module: "tf/app", Status: meridian.ChangeStatusChanges,
			Add:    []string{`terraform_data.rollout["etl"]`, `terraform_data.workload["etl"]`},
			Change: []string{}, Replace: []string{}, Destroy: []string{}, Outputs: []string{"replicas", "token"}},
	}
	if diff := cmp.Diff(want, changes(plan)); diff != "" {
		t.Errorf("first plan (-want +got):\n%s", diff)
	}
	if res.Count(workflow.Applied) != 2 {
		t.Errorf("applied %d targets, want 2: %+v", res.Count(workflow.Applied), res.Targets)
	}
	ledger, err := workflow.Current(ctx, db, f.src.RepoID())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"api": {"east"}, "web": {"east"}, "etl": {"west"}}, ledger); diff != "" {
		t.Errorf("ledger after apply (-want +got):\n%s", diff)
	}

	// Re-planning the same placements converges.
	replan := initial.plan()
	s, err := f.planSession(ctx, wf, replan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	for _, c := range replan.Terraform {
		if c.Status != meridian.ChangeStatusNoChanges {
			t.Errorf("re-plan of %s: %s %+v, want no changes", c.Target, c.Status, c)
		}
	}
	if replan.ID == plan.ID {
		t.Error("the re-plan has the first plan's ID although the state it starts from moved")
	}

	// Scale one workload: the plan shows the update and its rollout.
	changed := placements{"east": {"api": 3, "web": 1}, "west": {"etl": 1}}
	plan2, _ := f.applyAll(t, wf, changed)
	got := changes(plan2)["east"]
	if diff := cmp.Diff([]string{`terraform_data.workload["api"]`}, got.Change); diff != "" {
		t.Errorf("scaling api must update its workload resource (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`terraform_data.rollout["api"]`}, got.Replace); diff != "" {
		t.Errorf("scaling api must replace its rollout (-want +got):\n%s", diff)
	}
	if changes(plan2)["west"].Status != meridian.ChangeStatusNoChanges {
		t.Errorf("west did not change but plans %+v", changes(plan2)["west"])
	}
	entries, err := db.LedgerEntries(ctx, f.src.RepoID())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Workload == "api" && (e.Replicas != 3 || e.PlanID != plan2.ID || e.Commit != "c1") {
			t.Errorf("ledger row for api = %+v, want 3 replicas from plan %s", e, plan2.ID)
		}
	}

	// Nothing sensitive reaches the store or the logs.
	assertNoSecret(t, f, logs.String())
}

// assertNoSecret scans the store's files and the logs for the module's
// sensitive variable.
func assertNoSecret(t *testing.T, f *fixture, logs string) {
	t.Helper()
	matches, _ := filepath.Glob(f.dbPath + "*")
	if len(matches) == 0 {
		t.Fatal("no store files")
	}
	for _, p := range matches {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the secret is stored in %s", filepath.Base(p))
		}
	}
	if strings.Contains(logs, secret) {
		t.Error("the secret was logged")
	}
}

// TestStalePlanRefused saves a plan, lets another apply move the state, and
// checks that the saved plan is refused; a moved commit is refused too.
func TestStalePlanRefused(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()

	old := initial.plan()
	s, err := f.planSession(ctx, wf, old)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil) // planned and saved, not applied

	f.applyAll(t, wf, placements{"east": {"api": 1}, "west": {"etl": 2}})

	s, err = wf.Begin(ctx, store.RunApply, f.src, workflow.ModeApply)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(ctx, old.ID, &workflow.ConfigNow{Commit: "c1", TreeDigest: "d1"})
	s.Close(err, nil)
	var refused *workflow.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "state") {
		t.Fatalf("applying a plan whose state moved = %v, want a refusal naming the state", err)
	}
	runs, err := db.ListRuns(ctx, store.RunFilter{RepoID: f.src.RepoID(), Kind: store.RunApply, Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].Status != store.RunRefused {
		t.Errorf("the refused run must be recorded as refused: %+v, %v", runs, err)
	}

	fresh := placements{"east": {"api": 1}, "west": {"etl": 2}}.plan()
	s, err = f.planSession(ctx, wf, fresh)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	for name, now := range map[string]workflow.ConfigNow{
		"new commit":   {Commit: "c2", TreeDigest: "d1"},
		"edited files": {Commit: "c1", TreeDigest: "d2"},
	} {
		s, err := wf.Begin(ctx, store.RunApply, f.src, workflow.ModeApply)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Apply(ctx, fresh.ID, &now)
		s.Close(err, nil)
		if !errors.As(err, &refused) {
			t.Errorf("%s: apply = %v, want a refusal", name, err)
		}
	}
}

// TestFreeze checks the scaling freeze: a blocked workload keeps its
// applied replicas and starts nowhere new.
func TestFreeze(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	f.applyAll(t, wf, initial)

	plan := placements{"east": {"api": 5, "web": 1}, "west": {"etl": 1, "web": 1}}.plan()
	for i := range plan.Placements {
		if plan.Placements[i].Workload == "api" || plan.Placements[i].Workload == "web" {
			plan.Placements[i].Blocked = true
		}
	}
	ctx := context.Background()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	east, west := changes(plan)["east"], changes(plan)["west"]
	if east.Status != meridian.ChangeStatusNoChanges {
		t.Errorf("east must not scale the frozen api out: %+v", east)
	}
	if diff := cmp.Diff([]meridian.Frozen{{Workload: "api", Replicas: 2, Planned: 5}, {Workload: "web", Replicas: 1, Planned: 1}}, east.Frozen); diff != "" {
		t.Errorf("east frozen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]meridian.Frozen{{Workload: "web", Replicas: 0, Planned: 1}}, west.Frozen); diff != "" {
		t.Errorf("a frozen workload must not start on a new target (-want +got):\n%s", diff)
	}
	if west.Status != meridian.ChangeStatusNoChanges {
		t.Errorf("west must not start web: %+v", west)
	}
}

// TestPlanSkipsLockedTarget checks that a pull-request plan does not fail
// when an apply holds a target: it plans the rest and says so.
func TestPlanSkipsLockedTarget(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()
	holder, err := db.AcquireLock(ctx, store.LockRequest{Key: store.LockKey{RepoID: f.src.RepoID(), Target: "west"},
		Owner: store.Owner{Host: "ci-7", PID: 42, Actor: "deploy-bot"}, PlanID: "p0", TTL: 60e9})
	if err != nil {
		t.Fatal(err)
	}
	defer db.ReleaseLock(ctx, holder.Fence())
	s, err := wf.Begin(ctx, store.RunPlan, f.src, workflow.ModePlan)
	if err != nil {
		t.Fatal(err)
	}
	plan := initial.plan()
	err = s.PlanTerraform(ctx, f.cfg, os.DirFS(f.repoDir), plan)
	s.Close(err, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := changes(plan)
	if c["east"].Status != meridian.ChangeStatusChanges || c["west"].Status != meridian.ChangeStatusSkipped {
		t.Errorf("statuses east=%s west=%s, want changes and skipped", c["east"].Status, c["west"].Status)
	}
	var found bool
	for _, fd := range plan.Findings {
		if fd.Rule == workflow.RuleTerraformLocked && fd.Target == "west" && strings.Contains(fd.Message, "ci-7") {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s finding naming the holder: %+v", workflow.RuleTerraformLocked, plan.Findings)
	}
}

// TestTargetFailureDoesNotStopOthers breaks one target's module and checks
// that the other target still applies, and that the result says which.
func TestTargetFailureDoesNotStopOthers(t *testing.T) {
	f := newFixture(t)
	if err := os.MkdirAll(filepath.Join(f.repoDir, "tf", "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.repoDir, "tf", "broken", "main.tf"), []byte(`resource "terraform_data" "x" { input = var.nope }`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.cfg.Targets[1].Terraform.Module = "tf/broken"
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()
	plan := initial.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(ctx, plan.ID, nil)
	s.Close(err, res)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Targets {
		got[r.Target] = r.Status
	}
	if diff := cmp.Diff(map[string]string{"east": workflow.Applied, "west": workflow.NotApplied}, got); diff != "" {
		t.Errorf("per-target outcome (-want +got):\n%s", diff)
	}
	if !res.Failed() {
		t.Error("a target that could not be applied must make the apply fail (exit 1)")
	}
	var deny bool
	for _, fd := range plan.Findings {
		deny = deny || (fd.Rule == workflow.RuleTerraformFailed && fd.Target == "west" && fd.Blocking())
	}
	if !deny {
		t.Errorf("a target Terraform cannot plan must be a deny finding: %+v", plan.Findings)
	}
}
