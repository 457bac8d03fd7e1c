// Package demo prepares what `meridian demo` serves: the bundled example
// as a local Git repository, and its first apply, with Terraform or,
// without a binary, through the deploy repository alone.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// Branch is the branch WriteRepo commits to.
const Branch = "main"

// WriteRepo writes example into dir (which must not exist or be empty) and
// commits it as the one commit of branch main: the server plans and
// applies commits of a branch, never a bare folder.
func WriteRepo(dir string, example fs.FS) error {
	if err := os.CopyFS(dir, example); err != nil {
		return fmt.Errorf("write example: %w", err)
	}
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(Branch)}})
	if err != nil {
		return fmt.Errorf("init example repo: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("example repo: %w", err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return fmt.Errorf("example repo: add: %w", err)
	}
	sig := &object.Signature{Name: "Meridian demo", Email: "demo@meridian.invalid", When: time.Now()}
	if _, err := wt.Commit("The bundled example", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return fmt.Errorf("example repo: commit: %w", err)
	}
	return nil
}

// DeployOnly applies a saved plan without Terraform: it commits the plan's
// deploy tree (Argo CD and Crossplane manifests) to the deploy repository
// under stateDir, as an apply does once Terraform has applied, and leaves
// every Terraform target unapplied. It is what the demo does on a machine
// without a Terraform binary.
func DeployOnly(ctx context.Context, st store.Store, stateDir, cacheDir, planID, actor string, log *slog.Logger) (*controlplane.DeployStep, error) {
	rec, err := st.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	var plan meridian.Plan
	if err := json.Unmarshal(rec.Document, &plan); err != nil {
		return nil, fmt.Errorf("saved plan %s: %w", planID, err)
	}
	ref := rec.Commit
	if ref == "" {
		ref = rec.Ref
	}
	snap, err := gitops.Load(ctx, rec.Source, ref, gitops.Options{CacheDir: cacheDir, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("load config repo %s: %w", rec.Source, err)
	}
	cfg, err := config.Load(snap.FS)
	if err != nil {
		return nil, err
	}
	opts := deploy.Options{StateDir: stateDir, Store: controlplane.NewMoveStore(st), Logger: log}
	step := controlplane.ApplyDeploy(ctx, log, st, actor, rec.RepoID, cfg, &plan, &workflow.ApplyResult{}, opts, nil)
	if step.Status == controlplane.DeployFailed {
		return step, fmt.Errorf("commit the deploy tree: %s", step.Error)
	}
	return step, nil
}

// FirstApply says how to apply the demo's first plan.
type FirstApply struct {
	// Recon is the running server's loop: it plans the branch head at
	// startup, and applies with Terraform.
	Recon *controlplane.Reconciler
	Store store.Store
	// StateDir and CacheDir are the server's.
	StateDir, CacheDir string
	Actor              string
	// Terraform says whether the server has a Terraform binary: without
	// one only the deploy repository is written.
	Terraform bool
	Log       *slog.Logger
}

// Applied is what the first apply did.
type Applied struct {
	PlanID string
	// Status is the server's apply status (controlplane.ApplySucceeded or
	// ApplyFailed), or "deploy-only" without Terraform.
	Status string
	// Deploy is the deploy step of a deploy-only apply.
	Deploy *controlplane.DeployStep
}

// Apply waits for the server's startup plan and applies it: through the
// server, as POST /api/v1/plans/{id}/apply does, when it has Terraform,
// else with DeployOnly.
func Apply(ctx context.Context, a FirstApply) (Applied, error) {
	var st controlplane.BranchState
	for {
		st = a.Recon.State()
		if st.PlanID != "" {
			break
		}
		select {
		case <-ctx.Done():
			return Applied{}, fmt.Errorf("wait for the first plan: %w (last error: %s)", ctx.Err(), st.LastError)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !a.Terraform {
		step, err := DeployOnly(ctx, a.Store, a.StateDir, a.CacheDir, st.PlanID, a.Actor, a.Log)
		return Applied{PlanID: st.PlanID, Status: "deploy-only", Deploy: step}, err
	}
	out, err := a.Recon.Apply(ctx, st.PlanID, a.Actor)
	if err != nil {
		return Applied{PlanID: st.PlanID}, err
	}
	return Applied{PlanID: st.PlanID, Status: out.Status}, nil
}
