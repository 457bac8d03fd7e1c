package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// This file has the real Planner, Applier and DriftChecker the server
// runs, on planner and the Terraform workflow (GitLoader is the Loader).
// Each does what the CLI command of the same name does, through the same
// functions (ApplySavedPlan, CheckDrift).

// WorkflowsOptions configures a server's Terraform workflows.
type WorkflowsOptions struct {
	// StateDir holds the workspaces, plan files and the deploy repo.
	StateDir string
	// LeaseTTL, LockTimeout and Concurrency tune the target locks and
	// parallelism, as workflow.Options does.
	LeaseTTL, LockTimeout time.Duration
	Concurrency           int
	// Actor names the server in locks and runs it starts itself.
	Actor string
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Auth is the server's Git credentials, for the deploy repository of
	// trusted configuration.
	Auth gitops.AuthOptions
	// Runner is Terraform with the server's environment: plans of the
	// watched branch, applies and drift checks. Nil means no Terraform,
	// and NoTerraform says why (apply and drift checks are then Disabled).
	Runner      *terraform.Runner
	NoTerraform string
	// PRRunner is Terraform for allowlisted pull-request heads, with an
	// environment of its own and workspaces under PRStateDir, apart from
	// the applied targets' local state. Nil: heads plan without Terraform.
	PRRunner   *terraform.Runner
	PRStateDir string
	// Recorder, when set, receives lock.* and move.* events.
	Recorder *Recorder
	// Backend, when set, keeps the state of modules that declare no
	// backend in a shared backend (with a PostgreSQL store: Terraform's pg
	// backend on it), for the watched branch's plans, applies and drift
	// checks; pull-request plans keep theirs under PRStateDir.
	Backend *workflow.Backend
	// WorkspaceRetention is how long applies keep orphaned Terraform
	// workspaces (<= 0: forever).
	WorkspaceRetention time.Duration
	// PlanRetention is how many plans of each ref are kept, as
	// workflow.Options.PlanRetention.
	PlanRetention int
	// TracerProvider traces plans, applies and Terraform (default: no
	// tracing).
	TracerProvider trace.TracerProvider
}

// Workflows are the Terraform workflows of one server: save records plans
// without Terraform, trusted plans and applies the watched branch with the
// server's environment, untrusted plans allowlisted pull-request heads
// with their own environment. trusted and untrusted are nil without a
// runner.
type Workflows struct {
	st                       store.Store
	o                        WorkflowsOptions
	save, trusted, untrusted *workflow.Workflow
}

// NewWorkflows builds the workflows on st.
func NewWorkflows(st store.Store, o WorkflowsOptions) (*Workflows, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Workflows{st: LockEvents(st, o.Recorder, o.Logger), o: o}
	var err error
	// Plans are saved through a workflow even without Terraform: it records
	// the run and the plan the same way `meridian plan` does.
	if w.save, err = w.workflow(nil, o.StateDir, store.Owner{}); err != nil {
		return nil, err
	}
	if o.Runner == nil {
		return w, nil
	}
	if w.trusted, err = w.workflow(o.Runner, o.StateDir, store.Owner{}); err != nil {
		return nil, err
	}
	if o.PRRunner != nil {
		if w.untrusted, err = w.workflow(o.PRRunner, o.PRStateDir, store.Owner{}); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Terraform reports whether the server has Terraform: without it, apply
// and drift checks are off.
func (w *Workflows) Terraform() bool { return w.trusted != nil }

// workflow returns a workflow on runner whose locks and runs name owner
// (default: the server).
func (w *Workflows) workflow(runner *terraform.Runner, stateDir string, o store.Owner) (*workflow.Workflow, error) {
	host, _ := os.Hostname()
	if o.Actor == "" {
		o.Actor = w.o.Actor
	}
	o.Host, o.PID = host, os.Getpid()
	var backend *workflow.Backend
	if stateDir == w.o.StateDir {
		// The server's own workflows; pull-request heads run with an
		// environment that cannot reach the shared backend.
		backend = w.o.Backend
	}
	return workflow.New(w.st, runner, workflow.Options{StateDir: stateDir, Owner: o, LeaseTTL: w.o.LeaseTTL,
		LockTimeout: w.o.LockTimeout, Concurrency: w.o.Concurrency, Logger: w.o.Logger, PlanRetention: w.o.PlanRetention, Backend: backend,
		TracerProvider: w.o.TracerProvider})
}

// Applier returns the server's Applier: a WorkflowApplier with Terraform,
// Disabled without.
func (w *Workflows) Applier(loader *GitLoader) Applier {
	if !w.Terraform() {
		return Disabled{Reason: w.o.NoTerraform}
	}
	return &WorkflowApplier{wfs: w, loader: loader}
}

// DriftChecker returns the server's DriftChecker: a WorkflowDrift with
// Terraform, Disabled without.
func (w *Workflows) DriftChecker(loader *GitLoader) DriftChecker {
	if !w.Terraform() {
		return Disabled{Reason: w.o.NoTerraform}
	}
	return &WorkflowDrift{wfs: w, loader: loader}
}

// WorkflowPlanner is Planner on planner.Planner and the workflows.
type WorkflowPlanner struct {
	wfs     *Workflows
	catalog *providers.Catalog
}

// NewPlanner returns a planner on the workflows, with the embedded price
// catalog.
func NewPlanner(wfs *Workflows) (*WorkflowPlanner, error) {
	c, err := providers.DefaultCatalog()
	if err != nil {
		return nil, fmt.Errorf("load price catalog: %w", err)
	}
	return &WorkflowPlanner{wfs: wfs, catalog: c}, nil
}

// Plan implements Planner. Saved plans go through a workflow session, as
// `meridian plan` saves them: the session records the plan run, and with
// Terraform it holds the target locks (skipping held ones) while Terraform
// plans.
func (p *WorkflowPlanner) Plan(ctx context.Context, in PlanInput) (out *PlanOutput, err error) {
	snap := in.Snapshot
	o := p.wfs.o
	opts := []planner.Option{planner.WithLogger(o.Logger), planner.WithCatalog(p.catalog), planner.WithTracerProvider(o.TracerProvider),
		planner.WithDeploy(deploy.Previewer{Options: deploy.Options{StateDir: o.StateDir, Store: NewMoveStore(p.wfs.st), Logger: o.Logger, Auth: o.Auth}})}
	wf := p.wfs.save
	switch {
	case in.Terraform == TerraformTrusted && p.wfs.trusted != nil:
		wf = p.wfs.trusted
	case in.Terraform == TerraformUntrusted && p.wfs.untrusted != nil:
		wf = p.wfs.untrusted
	case in.Terraform != TerraformOff:
		reason := o.NoTerraform
		if reason == "" {
			reason = "pull-request Terraform plans are not configured (--pr-terraform-repos)"
		}
		opts = append(opts, planner.WithTerraform(planner.NoTerraform{Reason: reason}))
	}
	var sess *workflow.Session
	if in.Save {
		// No := in this block: the deferred Close must see the err that
		// Plan returns, or a failed plan is recorded as succeeded.
		var digest string
		if digest, err = workflow.TreeDigest(snap.FS); err != nil {
			return nil, err
		}
		src := workflow.Source{Source: snap.Source, Ref: snap.Ref, Commit: snap.Commit, Dirty: snap.Dirty, TreeDigest: digest}
		if sess, err = wf.Begin(ctx, store.RunPlan, src, workflow.ModePlan); err != nil {
			return nil, err
		}
		defer func() {
			// A plan cut off by its budget is recorded as failed, saying
			// which budget ran out.
			if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(err, cause) {
				err = fmt.Errorf("%w: %w", cause, err)
			}
			sess.Close(err, nil)
		}()
		if wf != p.wfs.save {
			opts = append(opts, planner.WithTerraform(sess))
		}
	}
	pl, err := planner.New(opts...)
	if err != nil {
		return nil, err
	}
	plan, err := pl.Plan(ctx, planner.Input{Config: in.Config, FS: snap.FS, Repo: snap.Source, Commit: snap.Commit, Dirty: snap.Dirty, Current: in.Current, Live: in.Live})
	if err != nil {
		return nil, err
	}
	if sess != nil {
		if err = sess.SavePlan(ctx, plan); err != nil {
			return nil, err
		}
		return &PlanOutput{Plan: plan, RunID: sess.RunID()}, nil
	}
	return &PlanOutput{Plan: plan}, nil
}

// WorkflowApplier is Applier on the workflows, as `meridian apply
// PLAN_ID` applies: it reloads the plan's source to refuse a stale plan.
type WorkflowApplier struct {
	wfs    *Workflows
	loader *GitLoader
}

// Apply implements Applier. Its locks and run name actor, so that an
// operator can force-unlock what they started. It is `meridian apply
// PLAN_ID`: Terraform, then the deploy repo.
func (a *WorkflowApplier) Apply(ctx context.Context, planID, actor string) (*ApplyOutput, error) {
	o := a.wfs.o
	wf, err := a.wfs.workflow(o.Runner, o.StateDir, store.Owner{Actor: actor})
	if err != nil {
		return nil, err
	}
	dopts := deploy.Options{StateDir: o.StateDir, Store: NewMoveStore(a.wfs.st).WithRecorder(o.Recorder, o.Logger), Logger: o.Logger, Auth: o.Auth}
	res, runID, err := ApplySavedPlan(ctx, wf, a.wfs.st, SavedApply{PlanID: planID, Actor: actor, CacheDir: a.loader.o.CacheDir, Deploy: dopts, Logger: o.Logger,
		WorkspaceRetention: o.WorkspaceRetention, TracerProvider: o.TracerProvider})
	if err != nil {
		var refused *workflow.RefusedError
		if errors.As(err, &refused) {
			return nil, meridian.Errorf(meridian.ECONFLICT, "%s", refused.Reason)
		}
		return nil, err
	}
	out := &ApplyOutput{RunID: runID, Status: ApplySucceeded, Detail: res}
	if res.Failed() {
		out.Status = ApplyFailed
	}
	return out, nil
}

// WorkflowDrift is DriftChecker on the workflows, as `meridian drift`.
type WorkflowDrift struct {
	wfs    *Workflows
	loader *GitLoader
}

// CheckDrift implements DriftChecker: Terraform drift of every applied
// target, then the deploy repo and Argo CD, then the Crossplane resources of
// targets with crossplane.cluster, at the watched branch's head.
func (d *WorkflowDrift) CheckDrift(ctx context.Context, actor string) (out *DriftOutput, err error) {
	l := d.loader
	snap, err := gitops.Load(ctx, l.o.Source, gitops.BranchRef(l.o.Branch), l.gitOptions())
	if err != nil {
		return nil, err
	}
	digest, err := workflow.TreeDigest(snap.FS)
	if err != nil {
		return nil, err
	}
	o := d.wfs.o
	wf, err := d.wfs.workflow(o.Runner, o.StateDir, store.Owner{Actor: actor})
	if err != nil {
		return nil, err
	}
	// Terraform drift needs no parsed config: a head that does not parse
	// still gets it, and the deploy check reports why it was skipped.
	cfg, cerr := config.Load(snap.FS)
	if cerr != nil {
		cfg = nil
	}
	src := workflow.Source{Source: snap.Source, Ref: snap.Ref, Commit: snap.Commit, Dirty: snap.Dirty, TreeDigest: digest}
	dopts := deploy.Options{StateDir: o.StateDir, Logger: l.o.Logger, Auth: o.Auth}
	res, err := CheckDrift(ctx, wf, d.wfs.st, dopts, cfg, src)
	if err != nil {
		return nil, err
	}
	// The figures are the open drift records after the check, not only
	// what it saw: a target that could not be checked keeps its drift.
	out = &DriftOutput{RunID: res.RunID, Drifted: map[string]int{}, Events: res.Events}
	for _, t := range res.Targets {
		out.Drifted[t.Target] = 0
		if t.Error != "" {
			out.Errors = append(out.Errors, t.Target+": "+t.Error)
		}
	}
	// Deploy-repo and Argo CD drift count against their targets too.
	for _, d := range res.Open {
		target := d.Target
		if target == "" {
			target = string(d.Engine)
		}
		out.Drifted[target]++
	}
	if res.Deploy.Error != "" {
		out.Errors = append(out.Errors, "deploy repo: "+res.Deploy.Error)
	}
	if res.Crossplane.Error != "" {
		out.Errors = append(out.Errors, "crossplane: "+res.Crossplane.Error)
	}
	for _, t := range slices.Sorted(maps.Keys(res.Crossplane.Failed)) {
		out.Errors = append(out.Errors, t+" (crossplane): "+res.Crossplane.Failed[t])
	}
	return out, nil
}

var (
	_ Loader       = (*GitLoader)(nil)
	_ Planner      = (*WorkflowPlanner)(nil)
	_ Applier      = (*WorkflowApplier)(nil)
	_ DriftChecker = (*WorkflowDrift)(nil)
)
