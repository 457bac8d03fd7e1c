package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// Outcomes of the deploy-repo step of an apply.
const (
	// DeployCommitted: the deploy tree (or a move's second step) was
	// committed and pushed.
	DeployCommitted = "committed"
	// DeployUnchanged: the deploy repo already held the plan.
	DeployUnchanged = "no_changes"
	// DeployFailed: reading, rendering, committing or pushing failed.
	DeployFailed = "failed"
	// DeploySkipped: Terraform did not apply every target, so the
	// workloads were not handed to Argo CD; the next apply commits them.
	DeploySkipped = "skipped"
)

// ApplyOutcome is what an apply did: Terraform target by target (the
// embedded result's fields are the top level of the JSON), then the deploy
// repo.
type ApplyOutcome struct {
	*workflow.ApplyResult
	Deploy *DeployStep `json:"deploy,omitempty"`
	// Workspaces is what the collection of orphaned Terraform workspaces
	// did, when it did anything.
	Workspaces *WorkspaceGC `json:"workspaces,omitempty"`
}

// Failed reports whether any step failed: exit status 1 of `meridian
// apply`, and ApplyFailed for the server.
func (o *ApplyOutcome) Failed() bool {
	return o.ApplyResult.Failed() || (o.Deploy != nil && o.Deploy.Status != DeployCommitted && o.Deploy.Status != DeployUnchanged)
}

// CloseErr is what the run is recorded with: a failed deploy step fails
// the run even though Terraform's results stand.
func (o *ApplyOutcome) CloseErr() error {
	if o == nil || o.Deploy == nil || o.Deploy.Status != DeployFailed {
		return nil
	}
	return fmt.Errorf("deploy repo: %s", o.Deploy.Error)
}

// CloseApply closes an apply session, recording err, or else the outcome's
// CloseErr: a failed deploy step fails the run, although the Terraform
// results it holds stand.
func CloseApply(sess *workflow.Session, err error, res *ApplyOutcome) {
	if err == nil {
		err = res.CloseErr()
	}
	sess.Close(err, res)
}

// DeployStep is the deploy-repo step of an apply: the commits, changed
// files, moves and MER-DEPLOY findings of deploy.Apply.
type DeployStep struct {
	// Status is DeployCommitted, DeployUnchanged, DeployFailed or
	// DeploySkipped.
	Status string `json:"status"`
	*deploy.Result
	Error string `json:"error,omitempty"`
}

// DeployLocker takes a config repo's deploy lock for the rest of an apply
// and returns its fence; workflow.Session does.
type DeployLocker interface {
	LockDeploy(ctx context.Context) (store.Fence, error)
}

// ApplyDeploy commits the plan's deploy tree after Terraform has applied.
// It never fails the apply by itself: its outcome goes into the summary
// next to Terraform's, whose results are already recorded. With lock (nil:
// none), it first takes the repo's deploy lock, so that two applies of one
// repo commit their trees and move records one after the other, and fences
// the move records with it.
func ApplyDeploy(ctx context.Context, log *slog.Logger, st store.Audit, actor, repoID string, cfg *meridian.Config, plan *meridian.Plan, tf *workflow.ApplyResult, opts deploy.Options, lock DeployLocker) *DeployStep {
	if tf.Failed() {
		return &DeployStep{Status: DeploySkipped,
			Error: "not committed: Terraform did not apply every target; the next apply commits the deploy tree"}
	}
	res, err := lockedDeploy(ctx, cfg, plan, opts, lock)
	step := &DeployStep{Status: DeployUnchanged, Result: res}
	switch {
	case err != nil:
		step.Status, step.Error = DeployFailed, err.Error()
	case len(res.Commits) > 0:
		step.Status = DeployCommitted
	}
	detail := step.Error
	if err == nil {
		detail = fmt.Sprintf("%s %s: %d commit(s), %d file(s), %d move(s)", res.Repo, res.Branch, len(res.Commits), len(res.Files), len(res.Moves))
		for _, c := range res.Commits {
			detail += " " + c.SHA
		}
	}
	// The run and the commits are the record; a failed audit append is
	// only logged.
	if aerr := st.AppendAudit(context.WithoutCancel(ctx), store.AuditEvent{RepoID: repoID, Actor: actor,
		Action: "apply.deploy", PlanID: plan.ID, RunID: tf.RunID, Detail: step.Status + ": " + detail}); aerr != nil {
		log.Warn("audit", "action", "apply.deploy", "err", aerr)
	}
	return step
}

// lockedDeploy is deploy.Apply under the deploy lock, when there is one.
func lockedDeploy(ctx context.Context, cfg *meridian.Config, plan *meridian.Plan, opts deploy.Options, lock DeployLocker) (*deploy.Result, error) {
	if lock != nil {
		fence, err := lock.LockDeploy(ctx)
		if err != nil {
			return nil, err
		}
		if ms, ok := opts.Store.(MoveStore); ok {
			opts.Store = ms.WithFence(fence)
		}
	}
	return deploy.Apply(ctx, cfg, plan, opts)
}

// SavedApply says how to apply a saved plan.
type SavedApply struct {
	// PlanID is the saved plan to apply.
	PlanID string
	// Actor names who applies, in the audit log.
	Actor string
	// CacheDir is where Git clones are cached (default:
	// ~/.cache/meridian/repos).
	CacheDir string
	// Deploy are the deploy repository's options; Deploy.Auth is also
	// used to reload the config repo.
	Deploy deploy.Options
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Recorder, when set, writes the apply to the history (apply.* events,
	// the applied cost). The CLI sets it; the server's reconcile loop
	// records around its Applier instead.
	Recorder *Recorder
	// AllowDestroy consents to destroying whatever the plan decommissions
	// (meridian apply --allow-destroy). Without it, the repo's destroy
	// approvals must cover every item, or the apply is refused with a
	// *DestroyConsentError before anything is applied.
	AllowDestroy bool
	// WorkspaceRetention is how long orphaned Terraform workspaces are
	// kept (<= 0: forever).
	WorkspaceRetention time.Duration
	// TracerProvider traces the apply: Terraform per target (through the
	// workflow's own provider), then the deploy commit.
	TracerProvider trace.TracerProvider
}

// ApplySavedPlan applies exactly the saved plan a.PlanID, as both
// `meridian apply PLAN_ID` and the server do: it reloads the config from
// where the plan came from so that the workflow refuses a stale plan,
// applies the Terraform targets, then commits the deploy tree. runID names
// the run.
func ApplySavedPlan(ctx context.Context, wf *workflow.Workflow, st store.Store, a SavedApply) (res *ApplyOutcome, runID string, err error) {
	tracer := telemetry.Tracer(a.TracerProvider, "controlplane")
	ctx, span := tracer.Start(ctx, "apply", trace.WithAttributes(attribute.String("meridian.plan", a.PlanID), attribute.String("meridian.actor", a.Actor)))
	defer func() {
		if err == nil && res != nil && res.Failed() {
			telemetry.Fail(span, errors.New("the apply failed: see its targets and deploy step"))
		}
		span.SetAttributes(attribute.String("meridian.run", runID))
		telemetry.End(span, err)
	}()
	log := a.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	planID := a.PlanID
	rec, err := wf.Store().GetPlan(ctx, planID)
	if err != nil {
		if meridian.ErrorCode(err) == meridian.ENOTFOUND {
			return nil, "", fmt.Errorf("no saved plan %s in this store (plan with Terraform first, or check --state-dir/--db): %w", planID, err)
		}
		return nil, "", err
	}
	// Reload the config from where the plan came from: a new commit or an
	// edited file makes the plan stale.
	snap, err := gitops.Load(ctx, rec.Source, rec.Ref, gitops.Options{CacheDir: a.CacheDir, Logger: log, Auth: a.Deploy.Auth})
	if err != nil {
		return nil, "", fmt.Errorf("reload config repo %s to check the plan is current: %w", rec.Source, err)
	}
	digest, err := workflow.TreeDigest(snap.FS)
	if err != nil {
		return nil, "", err
	}
	// The deploy tree is rendered from the saved plan and the config it
	// was made from (Apply refuses the plan below if the config moved).
	var plan meridian.Plan
	if err := json.Unmarshal(rec.Document, &plan); err != nil {
		return nil, "", fmt.Errorf("saved plan %s: %w", planID, err)
	}
	src := workflow.Source{Source: rec.Source, Ref: rec.Ref, Commit: rec.Commit, Dirty: rec.Dirty, TreeDigest: rec.TreeDigest}
	sess, err := wf.Begin(ctx, store.RunApply, src, workflow.ModeApply)
	if err != nil {
		return nil, "", err
	}
	runID = sess.RunID()
	defer func() { CloseApply(sess, err, res) }()
	consent, err := LoadConsent(ctx, st, src.RepoID(), a.Actor, a.AllowDestroy)
	if err != nil {
		return nil, runID, err
	}
	used, err := CheckConsent(ctx, log, st, a.Actor, src.RepoID(), runID, &plan, consent)
	if err != nil {
		return nil, runID, err
	}
	hist := HistoryApply{RepoID: src.RepoID(), Branch: rec.Ref, RunID: runID, Plan: &plan}
	defer func() { RecordApplyEnd(ctx, a.Recorder, log, hist, OutcomeFailure(hist, res, err)) }()
	RecordApplyStart(ctx, a.Recorder, log, hist)
	tf, err := sess.Apply(ctx, planID, &workflow.ConfigNow{Commit: snap.Commit, TreeDigest: digest})
	if err != nil {
		return nil, runID, err
	}
	// Parsed only once Apply found the config unchanged: a stale config
	// may no longer parse, and must be refused as stale.
	cfg, err := config.Load(snap.FS)
	if err != nil {
		return &ApplyOutcome{ApplyResult: tf, Deploy: &DeployStep{Status: DeployFailed, Error: fmt.Sprintf("parse config: %v", err)}}, runID, nil
	}
	hist.Config = cfg
	dctx, dspan := tracer.Start(ctx, "deploy.commit")
	out := &ApplyOutcome{ApplyResult: tf, Deploy: ApplyDeploy(dctx, log, st, a.Actor, src.RepoID(), cfg, &plan, tf, a.Deploy, sess)}
	dspan.SetAttributes(attribute.String("meridian.deploy.status", out.Deploy.Status))
	if out.Deploy.Status == DeployFailed {
		telemetry.Fail(dspan, errors.New(out.Deploy.Error))
	}
	dspan.End()
	out.Workspaces = Decommission(ctx, log, st, sess, cfg, &plan, consent, used, out, a.WorkspaceRetention)
	return out, runID, nil
}

// RecordApplyStart writes apply.started to rec's history (nil: none). A
// history that cannot be written is logged: the apply goes on.
func RecordApplyStart(ctx context.Context, rec *Recorder, log *slog.Logger, h HistoryApply) {
	if rec == nil {
		return
	}
	if _, err := rec.ApplyStarted(ctx, h); err != nil {
		log.ErrorContext(ctx, "record apply history", "plan", h.Plan.ID, "err", err)
	}
}

// OutcomeFailure is why an apply of h did not leave its plan running, or
// nil when it did: every target and the deploy repo applied, from a config
// that could be read.
func OutcomeFailure(h HistoryApply, res *ApplyOutcome, err error) error {
	switch {
	case err != nil:
		return err
	case res == nil || res.Failed():
		return fmt.Errorf("apply run %s did not apply every target and the deploy repo", h.RunID)
	case h.Config == nil:
		return fmt.Errorf("apply run %s: the config could not be read", h.RunID)
	}
	return nil
}

// RecordApplyEnd writes how the apply of h ended: apply.succeeded with the
// applied cost when failure is nil, apply.failed otherwise.
func RecordApplyEnd(ctx context.Context, rec *Recorder, log *slog.Logger, h HistoryApply, failure error) {
	if rec == nil {
		return
	}
	// The caller's context may be ending; the record must still be made.
	if _, err := rec.ApplyFinished(context.WithoutCancel(ctx), h, failure); err != nil {
		log.ErrorContext(ctx, "record apply history", "plan", h.Plan.ID, "err", err)
	}
}
