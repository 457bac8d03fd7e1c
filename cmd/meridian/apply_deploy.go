package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// Outcomes of the deploy-repo step of an apply.
const (
	// deployCommitted: the deploy tree (or a move's second step) was
	// committed and pushed.
	deployCommitted = "committed"
	// deployUnchanged: the deploy repo already held the plan.
	deployUnchanged = "no_changes"
	// deployFailed: reading, rendering, committing or pushing failed.
	deployFailed = "failed"
	// deploySkipped: Terraform did not apply every target, so the
	// workloads were not handed to Argo CD; the next apply commits them.
	deploySkipped = "skipped"
)

// applyOutcome is what `meridian apply` did: Terraform target by target
// (the embedded result's fields are the top level of the JSON), then the
// deploy repo.
type applyOutcome struct {
	*workflow.ApplyResult
	Deploy *deployStep `json:"deploy,omitempty"`
}

// Failed reports whether any step failed: exit status 1.
func (o *applyOutcome) Failed() bool {
	return o.ApplyResult.Failed() || (o.Deploy != nil && o.Deploy.Status != deployCommitted && o.Deploy.Status != deployUnchanged)
}

// closeErr is what the run is recorded with: a failed deploy step fails
// the run even though Terraform's results stand.
func (o *applyOutcome) closeErr() error {
	if o == nil || o.Deploy == nil || o.Deploy.Status != deployFailed {
		return nil
	}
	return fmt.Errorf("deploy repo: %s", o.Deploy.Error)
}

// deployStep is the deploy-repo step of an apply: the commits, changed
// files, moves and MER-DEPLOY findings of deploy.Apply.
type deployStep struct {
	// Status is deployCommitted, deployUnchanged, deployFailed or
	// deploySkipped.
	Status string `json:"status"`
	*deploy.Result
	Error string `json:"error,omitempty"`
}

// applyDeploy commits the plan's deploy tree after Terraform has applied.
// It never fails the command by itself: its outcome goes into the summary
// next to Terraform's, whose results are already recorded.
func applyDeploy(ctx context.Context, log *slog.Logger, st store.Audit, actor, repoID string, cfg *meridian.Config, plan *meridian.Plan, tf *workflow.ApplyResult, opts deploy.Options) *deployStep {
	if tf.Failed() {
		return &deployStep{Status: deploySkipped,
			Error: "not committed: Terraform did not apply every target; the next apply commits the deploy tree"}
	}
	res, err := deploy.Apply(ctx, cfg, plan, opts)
	step := &deployStep{Status: deployUnchanged, Result: res}
	switch {
	case err != nil:
		step.Status, step.Error = deployFailed, err.Error()
	case len(res.Commits) > 0:
		step.Status = deployCommitted
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

// writeDeployPreview lists the deploy-repo changes in the summary apply
// shows before asking for approval.
func writeDeployPreview(w io.Writer, d *meridian.DeployDiff) {
	if d == nil {
		return
	}
	if d.Error != "" {
		fmt.Fprintf(w, "\nDeploy repo: could not be previewed: %s\n", firstLine(d.Error))
		return
	}
	if len(d.Files) == 0 {
		fmt.Fprintf(w, "\nDeploy repo %s (%s): no changes\n", d.Repo, d.Branch)
		return
	}
	fmt.Fprintf(w, "\nDeploy repo %s (%s): %d file(s) change\n", d.Repo, d.Branch, len(d.Files))
	for _, f := range d.Files {
		fmt.Fprintf(w, "  %s %s\n", meridian.DeploySign(f.Action), f.Path)
	}
	for _, h := range d.Held {
		fmt.Fprintf(w, "  kept for a move: %s on %s until %s is Synced and Healthy\n", h.Workload, h.Target, strings.Join(h.Until, ", "))
	}
}

// writeDeployStep says what the deploy-repo step did.
func writeDeployStep(w io.Writer, s *deployStep) {
	if s == nil {
		return
	}
	switch s.Status {
	case deploySkipped:
		fmt.Fprintf(w, "\nDeploy repo: SKIPPED, %s\n", s.Error)
		return
	case deployFailed:
		fmt.Fprintf(w, "\nDeploy repo: FAILED: %s\n", s.Error)
		return
	}
	r := s.Result
	where := r.Repo + " (" + r.Branch
	if r.Path != "" {
		where += ", " + r.Path
	}
	where += ")"
	if s.Status == deployUnchanged {
		fmt.Fprintf(w, "\nDeploy repo %s: NO CHANGES, it already holds the plan.\n", where)
	} else {
		fmt.Fprintf(w, "\nDeploy repo %s: COMMITTED, %d file(s) changed\n", where, len(r.Files))
		for _, c := range r.Commits {
			subject, _, _ := strings.Cut(c.Message, "\n")
			fmt.Fprintf(w, "  %s %s\n", c.SHA[:min(12, len(c.SHA))], subject)
		}
	}
	for _, m := range r.Moves {
		fmt.Fprintf(w, "  move %s %s: %s -> %s", m.Status, m.Workload, strings.Join(m.From, ","), strings.Join(m.To, ","))
		if m.Detail != "" {
			fmt.Fprintf(w, " (%s)", m.Detail)
		}
		fmt.Fprintln(w)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %s %s: %s\n", f.Severity, f.Rule, f.Message)
	}
}
