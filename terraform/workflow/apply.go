package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/terraform"
)

// Target outcomes of an apply.
const (
	// Applied: Terraform applied the target's saved plan.
	Applied = "applied"
	// Unchanged: the plan had no changes; the ledger was brought up to date.
	Unchanged = "no_changes"
	// Failed: Terraform (or recording its result) failed.
	Failed = "failed"
	// Interrupted: the run was cancelled or lost its lock mid-apply.
	Interrupted = "interrupted"
	// NotApplied: the target had no usable plan (planning failed, or it was
	// skipped because its lock was held).
	NotApplied = "not_applied"
)

// TargetResult is what an apply did to one target.
type TargetResult struct {
	Target string `json:"target"`
	// Status is one of Applied, Unchanged, Failed, Interrupted, NotApplied.
	Status string                `json:"status"`
	Change meridian.TargetChange `json:"change"`
	// StateSerial is the state's serial after the apply.
	StateSerial int64         `json:"state_serial,omitempty"`
	Duration    time.Duration `json:"duration"`
	Error       string        `json:"error,omitempty"`
	RunID       string        `json:"run_id,omitempty"`
}

// ApplyResult is what an apply did, target by target.
type ApplyResult struct {
	PlanID  string         `json:"plan_id"`
	RunID   string         `json:"run_id"`
	Targets []TargetResult `json:"targets"`
}

// Failed reports whether any target failed, was interrupted, or could not
// be applied because its plan failed: the infrastructure does not match
// the plan.
func (r *ApplyResult) Failed() bool {
	for _, t := range r.Targets {
		if t.Status == Failed || t.Status == Interrupted || t.Status == NotApplied {
			return true
		}
	}
	return false
}

// Count returns how many targets ended with status.
func (r *ApplyResult) Count(status string) int {
	n := 0
	for _, t := range r.Targets {
		if t.Status == status {
			n++
		}
	}
	return n
}

// ConfigNow is the config repo as reloaded when applying a saved plan.
type ConfigNow struct {
	Commit     string
	TreeDigest string
}

// Apply applies exactly the saved plan planID, target by target with
// bounded concurrency. It refuses with a *RefusedError, before touching
// anything, when the plan is stale: now (the config reloaded from the
// plan's source; nil when the caller just planned it) differs from the
// plan's commit or files, or a target's state serial moved since the plan.
// A target's failure does not stop the others; the result says exactly
// what was and was not applied. The ledger is written only for targets
// Terraform applied successfully.
func (s *Session) Apply(ctx context.Context, planID string, now *ConfigNow) (res *ApplyResult, err error) {
	ctx, span := s.w.tracer.Start(ctx, "apply.terraform", trace.WithAttributes(attribute.String("meridian.plan", planID)))
	defer func() {
		if res != nil && res.Failed() && err == nil {
			telemetry.Fail(span, errors.New("a target's apply failed"))
		}
		telemetry.End(span, err)
	}()
	ctx, done := s.bind(ctx)
	defer done()
	defer func() { err = why(ctx, err) }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := s.w.st.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.planID = planID
	s.mu.Unlock()
	if rec.RepoID != s.repoID {
		return nil, &RefusedError{Reason: fmt.Sprintf("plan %s belongs to config repo %s, not %s", planID, rec.Source, s.src.Source)}
	}
	if now != nil {
		if now.Commit != rec.Commit {
			return nil, &RefusedError{Reason: fmt.Sprintf("plan %s is stale: the config repo moved from commit %s to %s since it was planned; plan again",
				planID, short(rec.Commit), short(now.Commit))}
		}
		if now.TreeDigest != rec.TreeDigest {
			return nil, &RefusedError{Reason: fmt.Sprintf("plan %s is stale: files in the config repo changed since it was planned (commit %s); plan again",
				planID, short(rec.Commit))}
		}
	}
	res = &ApplyResult{PlanID: planID, RunID: s.run.ID}
	var todo []store.PlanTarget
	for _, pt := range rec.Targets {
		if pt.Dir == "" {
			res.Targets = append(res.Targets, TargetResult{Target: pt.Target, Status: NotApplied, Change: pt.Change,
				Error: fmt.Sprintf("not planned (%s): %s", pt.Change.Status, pt.Change.Error)})
			continue
		}
		todo = append(todo, pt)
	}
	names := make([]string, len(todo))
	for i, pt := range todo {
		names[i] = pt.Target
	}
	if _, err := s.lock(ctx, names, planID); err != nil {
		return nil, err
	}
	if err := s.checkNotPruned(ctx, planID); err != nil {
		return nil, err
	}
	s.audit(ctx, "apply.start", "", planID, fmt.Sprintf("%d targets", len(todo)))

	// Check every target before applying any, so that a stale plan is
	// refused as a whole rather than half applied.
	type prepared struct {
		pt    store.PlanTarget
		ws    *terraform.Workspace
		state terraform.State
		err   error
		// ctx carries the target's span, from init to the end of its
		// apply.
		ctx  context.Context
		span trace.Span
	}
	preps := make([]*prepared, len(todo))
	forEach(s.w.opts.Concurrency, indexes(len(todo)), func(i int) {
		p := &prepared{pt: todo[i]}
		preps[i] = p
		p.ctx, p.span = s.w.tracer.Start(ctx, "apply.target", trace.WithAttributes(attribute.String("meridian.target", p.pt.Target)))
		p.ws, p.state, p.err = s.prepare(p.ctx, p.pt)
	})
	// A target's span ends with its outcome; a refused or interrupted
	// apply ends them all as they stand.
	defer func() {
		for _, p := range preps {
			if p != nil && p.span.IsRecording() {
				telemetry.End(p.span, p.err)
			}
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err // stopped before anything was applied
	}
	var stale []string
	for _, p := range preps {
		if p.err == nil && (p.state.Serial != p.pt.StateSerial || p.state.Lineage != p.pt.StateLineage) {
			stale = append(stale, fmt.Sprintf("%s (state serial %d, planned against %d)", p.pt.Target, p.state.Serial, p.pt.StateSerial))
		}
	}
	if len(stale) > 0 {
		err := &RefusedError{Reason: fmt.Sprintf("plan %s is stale: the Terraform state of %s changed since it was planned; plan again",
			planID, strings.Join(stale, ", "))}
		s.audit(ctx, "apply.refused", "", planID, err.Error())
		return nil, err
	}
	results := make([]TargetResult, len(preps))
	forEach(s.w.opts.Concurrency, indexes(len(preps)), func(i int) {
		p := preps[i]
		if p.err != nil {
			results[i] = s.finishTarget(ctx, p.pt, TargetResult{Target: p.pt.Target, Status: Failed, Change: p.pt.Change, Error: p.err.Error()}, "")
			return
		}
		results[i] = s.applyTarget(p.ctx, rec, p.pt, p.ws, p.state)
		p.span.SetAttributes(attribute.String("meridian.apply.status", results[i].Status))
		if e := results[i].Error; e != "" {
			telemetry.Fail(p.span, errors.New(e))
		}
		p.span.End()
	})
	res.Targets = append(res.Targets, results...)
	sort.Slice(res.Targets, func(i, j int) bool { return res.Targets[i].Target < res.Targets[j].Target })
	s.audit(ctx, "apply.finish", "", planID, fmt.Sprintf("%d applied, %d unchanged, %d failed, %d interrupted, %d not applied",
		res.Count(Applied), res.Count(Unchanged), res.Count(Failed), res.Count(Interrupted), res.Count(NotApplied)))
	return res, nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func short(sha string) string {
	if sha == "" {
		return "(none)"
	}
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// prepare makes the target's workspace hold exactly the plan's module
// snapshot, runs init, and reads the state serial.
func (s *Session) prepare(ctx context.Context, pt store.PlanTarget) (*terraform.Workspace, terraform.State, error) {
	dir := s.w.abs(pt.Dir)
	files, err := terraform.ReadModule(os.DirFS(dir), "module")
	if err != nil {
		return nil, terraform.State{}, fmt.Errorf("plan artefacts of %s: %w", pt.Target, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plan.tfplan")); err != nil {
		return nil, terraform.State{}, fmt.Errorf("plan artefacts of %s: %w", pt.Target, err)
	}
	ws, err := s.w.tf.Workspace(s.w.workspaceDir(s.repoID, pt.Target))
	if err != nil {
		return nil, terraform.State{}, err
	}
	if err := files.Write(ws.Dir); err != nil {
		return nil, terraform.State{}, fmt.Errorf("write workspace: %w", err)
	}
	backend, err := readBackend(dir)
	if err != nil {
		return nil, terraform.State{}, err
	}
	if err := ws.Init(ctx, backend); err != nil {
		return nil, terraform.State{}, err
	}
	st, err := ws.State(ctx)
	return ws, st, err
}

// applyTarget applies one target's saved plan and records the outcome.
func (s *Session) applyTarget(ctx context.Context, rec store.PlanRecord, pt store.PlanTarget, ws *terraform.Workspace, before terraform.State) TargetResult {
	start := time.Now()
	r := TargetResult{Target: pt.Target, Change: pt.Change}
	runID := s.run.ID + "/" + pt.Target
	if err := s.w.st.CreateRun(ctx, store.Run{ID: runID, ParentID: s.run.ID, RepoID: s.repoID, Kind: store.RunApply,
		PlanID: rec.ID, Target: pt.Target, Owner: s.w.opts.Owner}); err != nil {
		r.Status, r.Error = Failed, err.Error()
		return r
	}
	r.RunID = runID
	fence, ok := s.fence(pt.Target)
	if !ok {
		r.Status, r.Error = Failed, "the session does not hold the target's lock"
		return s.finishTarget(ctx, pt, r, "")
	}
	var log bytes.Buffer
	after := before
	if pt.Change.HasChanges() {
		if err := s.w.st.CheckFence(ctx, fence); err != nil {
			r.Status, r.Error = Interrupted, err.Error()
			return s.finishTarget(ctx, pt, r, "")
		}
		if before.Serial > 0 {
			if err := terraform.WriteFile(s.w.backupPath(s.repoID, pt.Target, before.Serial, runID), before.Raw); err != nil {
				r.Status, r.Error = Failed, fmt.Sprintf("back up state before apply: %v", err)
				return s.finishTarget(ctx, pt, r, "")
			}
		}
		err := ws.Apply(ctx, filepath.Join(s.w.abs(pt.Dir), "plan.tfplan"), &log)
		if err != nil {
			r.Status, r.Error = Failed, terraformHint(pt.Target, err)
			if ctx.Err() != nil {
				r.Status, r.Error = Interrupted, fmt.Sprintf("%v (%v)", context.Cause(ctx), err)
			}
			r.Duration = time.Since(start)
			return s.finishTarget(ctx, pt, r, log.String())
		}
		if after, err = ws.State(context.WithoutCancel(ctx)); err != nil {
			r.Status, r.Error = Failed, fmt.Sprintf("applied, but reading the new state failed: %v", err)
			return s.finishTarget(ctx, pt, r, log.String())
		}
	}
	entries := make([]store.LedgerEntry, 0, len(pt.Placements))
	for _, p := range pt.Placements {
		entries = append(entries, store.LedgerEntry{RepoID: s.repoID, Target: pt.Target, Workload: p.Workload, PlanID: rec.ID,
			Commit: rec.Commit, Replicas: p.Replicas, RunID: runID})
	}
	// The apply is done: record it even if the caller gave up meanwhile,
	// or the ledger would miss what now runs. The fence still guards it.
	// A decommissioned target's destroy leaves nothing to record: it
	// leaves the ledger.
	var err error
	if pt.Change.Decommission {
		err = s.forgetTarget(context.WithoutCancel(ctx), fence, pt.Target)
	} else {
		err = s.w.st.RecordApplied(context.WithoutCancel(ctx), fence, store.AppliedTarget{RepoID: s.repoID, Target: pt.Target, PlanID: rec.ID,
			RunID: runID, Commit: rec.Commit, Dir: pt.Dir, StateSerial: after.Serial, StateLineage: after.Lineage}, entries)
	}
	if err != nil {
		r.Status, r.Error = Failed, fmt.Sprintf("applied, but recording the ledger failed: %v", err)
		if errors.Is(err, store.ErrLockLost) {
			r.Status = Interrupted
		}
		return s.finishTarget(ctx, pt, r, log.String())
	}
	r.Status, r.StateSerial, r.Duration = Applied, after.Serial, time.Since(start)
	if !pt.Change.HasChanges() {
		r.Status = Unchanged
	}
	return s.finishTarget(ctx, pt, r, log.String())
}

// finishTarget records a target's run outcome (creating the run if the
// target never got that far).
func (s *Session) finishTarget(ctx context.Context, pt store.PlanTarget, r TargetResult, output string) TargetResult {
	ctx = context.WithoutCancel(ctx)
	if r.RunID == "" {
		r.RunID = s.run.ID + "/" + pt.Target
		if err := s.w.st.CreateRun(ctx, store.Run{ID: r.RunID, ParentID: s.run.ID, RepoID: s.repoID, Kind: store.RunApply,
			PlanID: s.planID, Target: pt.Target, Owner: s.w.opts.Owner}); err != nil {
			s.w.log.Warn("record target run", "target", pt.Target, "err", err)
			return r
		}
	}
	status := map[string]store.RunStatus{Applied: store.RunSucceeded, Unchanged: store.RunSucceeded, Failed: store.RunFailed,
		Interrupted: store.RunInterrupted, NotApplied: store.RunSkipped}[r.Status]
	detail, _ := json.Marshal(map[string]any{"status": r.Status, "state_serial": r.StateSerial, "add": len(r.Change.Add) + len(r.Change.Replace),
		"change": len(r.Change.Change), "destroy": len(r.Change.Destroy) + len(r.Change.Replace)})
	var fence *store.Fence
	if f, ok := s.fence(pt.Target); ok && status == store.RunSucceeded {
		fence = &f
	}
	if err := s.w.st.FinishRun(ctx, r.RunID, fence, store.RunFinish{Status: status, Output: output, Error: r.Error, Detail: detail}); err != nil {
		s.w.log.Warn("record target run", "target", pt.Target, "err", err)
		if errors.Is(err, store.ErrRunNotRunning) || errors.Is(err, store.ErrLockLost) {
			r.Status = Interrupted
			r.Error = strings.TrimSpace(r.Error + " " + err.Error())
		}
	}
	s.audit(ctx, "apply.target", pt.Target, s.planID, r.Status)
	return r
}

// backendFile holds a plan target's backend settings, beside the module
// snapshot: init must see the same backend when the plan is applied.
const backendFile = "backend.json"

func writeBackend(dir string, m map[string]string) error {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return terraform.WriteFile(filepath.Join(dir, backendFile), b)
}

func readBackend(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, backendFile))
	if err != nil {
		return nil, fmt.Errorf("plan artefacts: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("plan artefacts: %s: %w", backendFile, err)
	}
	return m, nil
}
