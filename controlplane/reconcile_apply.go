package controlplane

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// autoApply applies the branch's plan unless it blocks or was applied.
func (r *Reconciler) autoApply(ctx context.Context, p *meridian.Plan) error {
	if p.Blocking() {
		r.mu.Lock()
		first := !r.skipped[p.ID]
		r.skipped[p.ID] = true
		r.mu.Unlock()
		if first {
			r.metrics.applies.WithLabelValues("auto", "skipped").Inc()
			r.audit(ctx, store.AuditEvent{Actor: r.opts.Actor, Action: "apply.skipped", PlanID: p.ID,
				Detail: "auto_apply: the plan has a deny finding or an unplaceable workload; fix it or apply through the API"})
		}
		return nil
	}
	applied, err := r.appliedOK(ctx, p.ID)
	if err != nil {
		return r.failed(ctx, "apply", p.ID, err)
	}
	if applied {
		return nil
	}
	if waiting, err := r.awaitingConsent(ctx, p); err != nil || waiting {
		if err != nil {
			return r.failed(ctx, "apply", p.ID, err)
		}
		return nil
	}
	out, err := r.apply(ctx, p.ID, r.opts.Actor, "auto")
	if err != nil {
		return r.failed(ctx, "apply", p.ID, err)
	}
	if out.Status != ApplySucceeded {
		return r.failed(ctx, "apply", p.ID, fmt.Errorf("apply of plan %s: %s (run %s)", p.ID, out.Status, out.RunID))
	}
	return nil
}

// appliedOK reports whether plan id has a succeeded apply run.
func (r *Reconciler) appliedOK(ctx context.Context, id string) (bool, error) {
	r.mu.Lock()
	if r.state.AppliedPlanID == id {
		r.mu.Unlock()
		return true, nil
	}
	r.mu.Unlock()
	runs, err := r.st.ListRuns(ctx, store.RunFilter{RepoID: r.opts.RepoID, PlanID: id, Kind: store.RunApply})
	if err != nil {
		return false, fmt.Errorf("list applies of plan %s: %w", id, err)
	}
	for _, run := range runs {
		if run.ParentID == "" && run.Status == store.RunSucceeded {
			return true, nil
		}
	}
	return false, nil
}

// Apply applies a saved plan of the watched branch for actor. Plans of
// pull-request heads and other refs are refused: Meridian applies on merge.
// The apply runs on the server's context, so that a client that hangs up
// does not interrupt Terraform halfway; concurrent requests for one plan
// share one apply.
func (r *Reconciler) Apply(ctx context.Context, planID, actor string) (*ApplyOutput, error) {
	rec, err := r.st.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	if rec.RepoID != r.opts.RepoID {
		return nil, meridian.Errorf(meridian.ENOTFOUND, "plan %q not found", planID)
	}
	if rec.Ref != r.branchRef() && rec.Ref != r.opts.Branch {
		return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s is of %q, not of branch %s: only plans of the watched branch are applied (Meridian applies on merge)",
			planID, rec.Ref, r.opts.Branch)
	}
	if cfg, err := r.config(ctx, rec.Commit); err == nil {
		// A config that cannot be read is the apply's to report.
		if err := r.vetConfig(cfg); err != nil {
			return nil, err
		}
	}
	r.audit(ctx, store.AuditEvent{Actor: actor, Action: "apply.requested", PlanID: planID, Detail: "commit " + short(rec.Commit)})
	return r.apply(ctx, planID, actor, "api")
}

func (r *Reconciler) apply(ctx context.Context, planID, actor, trigger string) (*ApplyOutput, error) {
	ch := r.flight.DoChan("apply\x00"+planID, func() (any, error) {
		done, err := r.track()
		if err != nil {
			return nil, err
		}
		defer done()
		start := r.now()
		actx, cancel := r.budget("apply", r.opts.ApplyTimeout)
		defer cancel()
		actx = traced(actx, ctx)
		hist := r.applyStarted(actx, planID)
		out, err := r.applier.Apply(actx, planID, actor)
		err = overBudget(actx, err)
		r.applyFinished(actx, hist, out, err)
		outcome := "error"
		switch {
		case meridian.ErrorCode(err) == meridian.ECONFLICT:
			outcome = "refused"
		case err == nil:
			outcome = out.Status
		}
		r.metrics.applyDuration.WithLabelValues(outcome).Observe(r.now().Sub(start).Seconds())
		r.metrics.applies.WithLabelValues(trigger, outcome).Inc()
		if err == nil && out.Status == ApplySucceeded {
			r.mu.Lock()
			r.state.AppliedPlanID = planID
			r.mu.Unlock()
		}
		return out, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*ApplyOutput), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// checkDrift runs one drift check and publishes its figures.
func (r *Reconciler) checkDrift(ctx context.Context) error {
	dctx, cancel := context.WithTimeoutCause(ctx, r.opts.DriftTimeout,
		meridian.Errorf(meridian.ETIMEOUT, "drift check exceeded its time budget of %s", r.opts.DriftTimeout))
	defer cancel()
	out, err := r.drift.CheckDrift(dctx, r.opts.Actor)
	err = overBudget(dctx, err)
	if meridian.ErrorCode(err) == meridian.EUNAVAILABLE {
		return nil // not configured: nothing to retry
	}
	if err != nil {
		return r.failed(ctx, "drift", "", fmt.Errorf("drift check: %w", err))
	}
	if r.opts.Recorder != nil {
		// The drift check wrote its events with its records: wake the
		// live feeds now rather than at their next poll.
		r.opts.Recorder.wake(out.Events)
	}
	r.metrics.drifted.Reset()
	for t, n := range out.Drifted {
		r.metrics.drifted.WithLabelValues(t).Set(float64(n))
	}
	if len(out.Errors) > 0 {
		return r.failed(ctx, "drift", "", fmt.Errorf("drift check run %s: %d target(s) could not be checked: %v", out.RunID, len(out.Errors), out.Errors))
	}
	return nil
}

// applyStarted records apply.started for the history, and returns what
// applyFinished needs; nil without a recorder or when the plan cannot be
// read (the apply itself then says why).
func (r *Reconciler) applyStarted(ctx context.Context, planID string) *HistoryApply {
	if r.opts.Recorder == nil {
		return nil
	}
	rec, p, err := r.SavedPlan(ctx, planID)
	if err != nil {
		return nil
	}
	cfg, err := r.config(ctx, rec.Commit)
	if err != nil {
		r.log.ErrorContext(ctx, "record apply history: read config", "plan", planID, "err", err)
		return nil
	}
	h := &HistoryApply{RepoID: r.opts.RepoID, Branch: r.opts.Branch, Config: cfg, Plan: p}
	RecordApplyStart(ctx, r.opts.Recorder, r.log, *h)
	return h
}

// applyFinished records apply.succeeded (with the applied cost point) or
// apply.failed.
func (r *Reconciler) applyFinished(ctx context.Context, h *HistoryApply, out *ApplyOutput, err error) {
	if h == nil {
		return
	}
	if out != nil {
		h.RunID = out.RunID
	}
	failure := err
	if err == nil && out.Status != ApplySucceeded {
		failure = fmt.Errorf("apply run %s: %s", out.RunID, out.Status)
	}
	RecordApplyEnd(ctx, r.opts.Recorder, r.log, *h, failure)
}
