package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
	"github.com/meridianhq/meridian/web"
)

// This file adapts Meridian's packages to the interfaces package web
// consumes: gitops for web.Loader, planner and the Terraform workflow for
// web.Planner, web.Applier and web.DriftChecker.

// gitLoader is web.Loader on gitops and the config parser.
type gitLoader struct {
	source, name, branch, cacheDir string
	// auth carries the server's Git token; gitops.Load sends it only to
	// the host of source.
	auth gitops.AuthOptions
	log  *slog.Logger
}

// Load implements web.Loader.
func (l *gitLoader) Load(ctx context.Context, ref string) (*web.Snapshot, error) {
	snap, err := gitops.Load(ctx, l.source, ref, gitops.Options{CacheDir: l.cacheDir, Logger: l.log, Auth: l.auth})
	if err != nil {
		return nil, err
	}
	if snap.Source != l.name {
		l.log.Warn("config repo source name differs from the one the store is keyed by", "loaded", snap.Source, "expected", l.name)
	}
	cfg, err := config.Load(snap.FS)
	if err != nil {
		return nil, err
	}
	return &web.Snapshot{Source: snap.Source, Ref: snap.Ref, Commit: snap.Commit, Dirty: snap.Dirty, Config: cfg, FS: snap.FS}, nil
}

// Ping implements web.Loader: it reads the branch (a fetch for a URL).
func (l *gitLoader) Ping(ctx context.Context) error {
	_, err := gitops.Load(ctx, l.source, gitops.BranchRef(l.branch), gitops.Options{CacheDir: l.cacheDir, Logger: l.log, Auth: l.auth})
	return err
}

// serverWorkflows are the Terraform workflows of one server: save records
// plans without Terraform, trusted plans and applies the watched branch
// with the server's environment, untrusted plans allowlisted pull-request
// heads with their own environment. trusted and untrusted are nil without
// a binary (or an allowlist).
type serverWorkflows struct {
	db                       *sqlite.DB
	stateDir                 string
	lease, lockTimeout       time.Duration
	concurrency              int
	actor                    string
	log                      *slog.Logger
	runner                   *terraform.Runner
	save, trusted, untrusted *workflow.Workflow
	noTerraform              string
	// auth is the server's Git credentials, for the deploy repository of
	// trusted configuration.
	auth gitops.AuthOptions
}

// workflow returns a workflow on runner whose locks and runs name owner
// (default: the server).
func (w *serverWorkflows) workflow(runner *terraform.Runner, o store.Owner) (*workflow.Workflow, error) {
	host, _ := os.Hostname()
	if o.Actor == "" {
		o.Actor = w.actor
	}
	o.Host, o.PID = host, os.Getpid()
	return workflow.New(w.db, runner, workflow.Options{StateDir: w.stateDir, Owner: o, LeaseTTL: w.lease,
		LockTimeout: w.lockTimeout, Concurrency: w.concurrency, Logger: w.log})
}

// serverPlanner is web.Planner on planner.Planner and the workflow.
type serverPlanner struct {
	wfs      *serverWorkflows
	catalog  *providers.Catalog
	stateDir string
	log      *slog.Logger
}

func newServerPlanner(wfs *serverWorkflows, stateDir string, log *slog.Logger) (*serverPlanner, error) {
	c, err := providers.DefaultCatalog()
	if err != nil {
		return nil, fmt.Errorf("load price catalog: %w", err)
	}
	return &serverPlanner{wfs: wfs, catalog: c, stateDir: stateDir, log: log}, nil
}

// Plan implements web.Planner. Saved plans go through a workflow session,
// as `meridian plan` saves them: the session records the plan run, and
// with Terraform it holds the target locks (skipping held ones) while
// Terraform plans.
func (p *serverPlanner) Plan(ctx context.Context, in web.PlanInput) (out *web.PlanOutput, err error) {
	snap := in.Snapshot
	opts := []planner.Option{planner.WithLogger(p.log), planner.WithCatalog(p.catalog),
		planner.WithDeploy(deploy.Previewer{Options: deploy.Options{StateDir: p.stateDir, Store: moveStore{p.wfs.db}, Logger: p.log, Auth: p.wfs.auth}})}
	wf := p.wfs.save
	switch {
	case in.Terraform == web.TerraformTrusted && p.wfs.trusted != nil:
		wf = p.wfs.trusted
	case in.Terraform == web.TerraformUntrusted && p.wfs.untrusted != nil:
		wf = p.wfs.untrusted
	case in.Terraform != web.TerraformOff:
		reason := p.wfs.noTerraform
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
	plan, err := pl.Plan(ctx, planner.Input{Config: in.Config, FS: snap.FS, Repo: snap.Source, Commit: snap.Commit, Dirty: snap.Dirty, Current: in.Current})
	if err != nil {
		return nil, err
	}
	if sess != nil {
		if err = sess.SavePlan(ctx, plan); err != nil {
			return nil, err
		}
		return &web.PlanOutput{Plan: plan, RunID: sess.RunID()}, nil
	}
	return &web.PlanOutput{Plan: plan}, nil
}

// serverApplier is web.Applier on the workflow, as `meridian apply
// PLAN_ID` applies: it reloads the plan's source to refuse a stale plan.
type serverApplier struct {
	wfs    *serverWorkflows
	loader *gitLoader
	log    *slog.Logger
}

// Apply implements web.Applier. Its locks and run name actor, so that an
// operator can force-unlock what they started. It is `meridian apply
// PLAN_ID`: Terraform, then the deploy repo.
func (a *serverApplier) Apply(ctx context.Context, planID, actor string) (*web.ApplyOutput, error) {
	wf, err := a.wfs.workflow(a.wfs.runner, store.Owner{Actor: actor})
	if err != nil {
		return nil, err
	}
	dopts := deploy.Options{StateDir: a.wfs.stateDir, Store: moveStore{a.wfs.db}, Logger: a.log, Auth: a.wfs.auth}
	res, runID, err := applySavedPlan(ctx, a.log, wf, a.wfs.db, dopts, a.loader.cacheDir, actor, planID)
	if err != nil {
		var refused *workflow.RefusedError
		if errors.As(err, &refused) {
			return nil, meridian.Errorf(meridian.ECONFLICT, "%s", refused.Reason)
		}
		return nil, err
	}
	out := &web.ApplyOutput{RunID: runID, Status: web.ApplySucceeded, Detail: res}
	if res.Failed() {
		out.Status = web.ApplyFailed
	}
	return out, nil
}

// serverDrift is web.DriftChecker on the workflow, as `meridian drift`.
type serverDrift struct {
	wfs    *serverWorkflows
	loader *gitLoader
	branch string
}

// CheckDrift implements web.DriftChecker.
func (d *serverDrift) CheckDrift(ctx context.Context, actor string) (out *web.DriftOutput, err error) {
	snap, err := gitops.Load(ctx, d.loader.source, gitops.BranchRef(d.branch), gitops.Options{CacheDir: d.loader.cacheDir, Logger: d.loader.log, Auth: d.loader.auth})
	if err != nil {
		return nil, err
	}
	digest, err := workflow.TreeDigest(snap.FS)
	if err != nil {
		return nil, err
	}
	wf, err := d.wfs.workflow(d.wfs.runner, store.Owner{Actor: actor})
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
	dopts := deploy.Options{StateDir: d.wfs.stateDir, Logger: d.loader.log, Auth: d.wfs.auth}
	res, err := checkDrift(ctx, wf, d.wfs.db, dopts, cfg, src)
	if err != nil {
		return nil, err
	}
	out = &web.DriftOutput{RunID: res.RunID, Drifted: map[string]int{}}
	for _, t := range res.Targets {
		out.Drifted[t.Target] = len(t.Items)
		if t.Error != "" {
			out.Errors = append(out.Errors, t.Target+": "+t.Error)
		}
	}
	// Deploy-repo and Argo CD drift count against their targets too.
	for _, it := range res.Deploy.Items {
		target := it.Target
		if target == "" {
			target = "deploy-repo"
		}
		out.Drifted[target]++
	}
	if res.Deploy.Error != "" {
		out.Errors = append(out.Errors, "deploy repo: "+res.Deploy.Error)
	}
	return out, nil
}

var (
	_ web.Loader       = (*gitLoader)(nil)
	_ web.Planner      = (*serverPlanner)(nil)
	_ web.Applier      = (*serverApplier)(nil)
	_ web.DriftChecker = (*serverDrift)(nil)
)
