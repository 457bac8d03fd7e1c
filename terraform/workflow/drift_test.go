package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func drift(t *testing.T, f *fixture, wf *workflow.Workflow) *workflow.DriftReport {
	t.Helper()
	ctx := context.Background()
	s, err := wf.Begin(ctx, store.RunDrift, f.src, workflow.ModeApply)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Drift(ctx)
	s.Close(err, rep)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestDrift applies, checks that drift is clean, then removes a workload's
// resource from the state behind Meridian's back and checks that drift
// reports the state write and the resource, tied to its workload.
func TestDrift(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	f.applyAll(t, wf, initial)

	if rep := drift(t, f, wf); rep.Drifted() || rep.Errored() || len(rep.Targets) != 2 {
		t.Fatalf("drift right after apply: %+v", rep)
	}

	// Out of band: someone runs terraform state rm in the workspace.
	r, err := terraform.New(context.Background(), f.bin, terraform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := r.Workspace(filepath.Join(f.stateDir, "workspaces", f.src.RepoID(), "east"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Exec().StateRm(context.Background(), `terraform_data.workload["api"]`, tfexec.Lock(true)); err != nil {
		t.Fatal(err)
	}

	rep := drift(t, f, wf)
	if !rep.Drifted() || rep.Errored() {
		t.Fatalf("drift after state rm: %+v", rep)
	}
	var east workflow.DriftTarget
	for _, tg := range rep.Targets {
		if tg.Target == "east" {
			east = tg
		} else if tg.Drifted {
			t.Errorf("%s did not change but drifted: %+v", tg.Target, tg.Items)
		}
	}
	var sawState, sawResource bool
	for _, it := range east.Items {
		switch {
		case it.Action == "state":
			sawState = true
		case it.Resource == `terraform_data.workload["api"]` && it.Action == "create" && it.Workload == "api" && it.Engine == meridian.DriftEngineTerraform &&
			it.Expected == "present" && it.Actual == "absent":
			sawResource = true
		}
	}
	if !sawState || !sawResource {
		t.Errorf("drift on east must report the state write and the removed resource of workload api: %+v", east.Items)
	}
	// The session reports; recording is its caller's (controlplane.CheckDrift).
	if stored, err := db.OpenDrift(context.Background(), f.src.RepoID()); err != nil || len(stored) != 0 {
		t.Errorf("Session.Drift recorded drift itself: %+v, %v", stored, err)
	}
	if _, err := os.Stat(filepath.Join(f.stateDir, "workspaces", f.src.RepoID(), "east", ".meridian")); !os.IsNotExist(err) {
		t.Errorf("drift left its scratch plans behind: %v", err)
	}
}
