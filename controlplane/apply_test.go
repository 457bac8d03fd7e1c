package controlplane_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func TestApplyOutcomeFailed(t *testing.T) {
	ok := &workflow.ApplyResult{Targets: []workflow.TargetResult{{Target: "a", Status: workflow.Applied}}}
	bad := &workflow.ApplyResult{Targets: []workflow.TargetResult{{Target: "a", Status: workflow.Failed}}}
	cases := map[string]struct {
		reason string
		out    controlplane.ApplyOutcome
		failed bool
	}{
		"all applied":        {"Terraform and the deploy repo applied", controlplane.ApplyOutcome{ApplyResult: ok, Deploy: &controlplane.DeployStep{Status: controlplane.DeployCommitted}}, false},
		"deploy unchanged":   {"an unchanged deploy repo is success", controlplane.ApplyOutcome{ApplyResult: ok, Deploy: &controlplane.DeployStep{Status: controlplane.DeployUnchanged}}, false},
		"deploy failed":      {"a failed deploy step is a failed apply", controlplane.ApplyOutcome{ApplyResult: ok, Deploy: &controlplane.DeployStep{Status: controlplane.DeployFailed}}, true},
		"terraform failed":   {"a failed target fails the apply, the deploy step skipped", controlplane.ApplyOutcome{ApplyResult: bad, Deploy: &controlplane.DeployStep{Status: controlplane.DeploySkipped}}, true},
		"terraform, no step": {"without a deploy step Terraform decides", controlplane.ApplyOutcome{ApplyResult: bad, Deploy: nil}, true},
		"applied, no step":   {"without a deploy step Terraform decides", controlplane.ApplyOutcome{ApplyResult: ok, Deploy: nil}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.out.Failed(); got != tc.failed {
				t.Errorf("%s: Failed() = %t", tc.reason, got)
			}
			if got := tc.out.CloseErr() != nil; got != (tc.out.Deploy != nil && tc.out.Deploy.Status == controlplane.DeployFailed) {
				t.Errorf("%s: CloseErr() = %v", tc.reason, tc.out.CloseErr())
			}
		})
	}
}

// TestApplyDeploySkipsAfterTerraformFailure: workloads are not handed to
// Argo CD when the infrastructure under them did not apply.
func TestApplyDeploySkipsAfterTerraformFailure(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tf := &workflow.ApplyResult{RunID: "run-1", Targets: []workflow.TargetResult{{Target: "a", Status: workflow.Failed}}}
	step := controlplane.ApplyDeploy(ctx, slog.New(slog.DiscardHandler), db, "tester", "repo-1", &meridian.Config{}, &meridian.Plan{ID: "p1"}, tf, deploy.Options{StateDir: state}, nil)
	if step.Status != controlplane.DeploySkipped || step.Error == "" {
		t.Errorf("deploy step after a failed target = %+v, want skipped with a reason", step)
	}
	if _, err := os.Stat(deploy.LocalRepoDir(state)); !os.IsNotExist(err) {
		t.Errorf("a skipped deploy step must not touch the deploy repo: %v", err)
	}
	ev, err := db.ListAudit(ctx, store.AuditFilter{Action: "apply.deploy"})
	if err != nil || len(ev) != 0 {
		t.Errorf("a skipped step wrote no deploy: audit %+v, %v", ev, err)
	}
}
