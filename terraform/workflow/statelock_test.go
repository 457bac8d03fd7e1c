package workflow_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/terraformtest"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// TestForceUnlockRemoteStateLock: a plan that meets a remote backend's
// Terraform lock left by a dead process fails naming the lock ID and the
// command that breaks it; that command (Session.ForceUnlockTerraform) runs
// terraform force-unlock in the target's workspace, and the next plan
// goes through.
func TestForceUnlockRemoteStateLock(t *testing.T) {
	f := newFixture(t)
	backend := terraformtest.NewHTTPBackend(t, `{"ID": "5f1c9a8e-dead-4bee-8a11-000000000001", "Operation": "OperationTypeApply", "Who": "ci@gone"}`)
	module := filepath.Join(f.repoDir, "tf", "remote")
	if err := os.MkdirAll(module, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(module, "main.tf"), []byte(`terraform {
  backend "http" {}
}
variable "target" { type = any }
variable "placements" { type = any }
resource "terraform_data" "workload" {
  for_each = var.placements
  input    = each.value.replicas
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.Targets = []meridian.Target{{Name: "remote", Provider: meridian.ProviderAWS, Region: "us-east-1", Engine: meridian.EngineTerraform,
		Terraform: &meridian.TerraformModule{Module: "tf/remote", BackendConfig: backend.BackendConfig()}}}
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	ctx := context.Background()

	plan := placements{"remote": {"api": 1}}.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	if c := changes(plan)["remote"]; c.Status != meridian.ChangeStatusFailed {
		t.Fatalf("plan against a held state lock: %+v", c)
	}
	var msg string
	for _, fd := range plan.Findings {
		if fd.Rule == workflow.RuleTerraformFailed {
			msg = fd.Message
		}
	}
	for _, s := range []string{"lock ID 5f1c9a8e-dead-4bee-8a11-000000000001",
		"meridian unlock remote --terraform-lock 5f1c9a8e-dead-4bee-8a11-000000000001 --reason"} {
		if !strings.Contains(msg, s) {
			t.Errorf("the finding must say %q:\n%s", s, msg)
		}
	}

	s, err = wf.Begin(ctx, store.RunUnlock, f.src, workflow.ModeApply)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ForceUnlockTerraform(ctx, "remote", "5f1c9a8e-dead-4bee-8a11-000000000001", "the CI runner died")
	s.Close(err, nil)
	if err != nil {
		t.Fatal(err)
	}
	if held, unlocks := backend.Locked(); held || unlocks != 1 {
		t.Fatalf("after force-unlock: lock held %t, %d UNLOCK requests; want released by one", held, unlocks)
	}
	evs, err := db.ListAudit(ctx, store.AuditFilter{Action: "lock.terraform_force_unlock"})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Detail, "the CI runner died") || evs[0].Target != "remote" {
		t.Errorf("audit of the force-unlock: %+v, %v", evs, err)
	}

	_, res := f.applyAll(t, wf, placements{"remote": {"api": 1}})
	if res.Count(workflow.Applied) != 1 {
		t.Errorf("apply after the unlock: %+v", res.Targets)
	}
	var st struct {
		Resources []json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(backend.State(), &st); err != nil || len(st.Resources) != 1 {
		t.Errorf("the remote state after the apply: %d resources, %v", len(st.Resources), err)
	}
}
