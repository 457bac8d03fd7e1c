package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// ReconcilerOptions tunes a Reconciler. Zero values mean the defaults.
type ReconcilerOptions struct {
	// RepoID is the config repo's ID in the store: store.RepoID(source).
	RepoID string
	// Source is the config repo as shown to people (no credentials).
	Source string
	// Branch is the branch to watch (default main).
	Branch string
	// Interval is how often the branch is polled (default 1m). A push
	// webhook wakes the loop at once.
	Interval time.Duration
	// DriftInterval is how often drift is checked when meridian.yaml has
	// no drift_interval (default 1h).
	DriftInterval time.Duration
	// RetryMin and RetryMax bound the backoff after a failed step
	// (defaults 1s and Interval).
	RetryMin, RetryMax time.Duration
	// Actor names the server in runs, locks and the audit log (default
	// "meridian-serve").
	Actor string
	// PR configures pull-request reports.
	PR PROptions
	// Logger defaults to discarding; Metrics to a fresh set.
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// BranchState is what the reconciler knows about the watched branch.
type BranchState struct {
	Branch string `json:"branch"`
	// Commit is the head last planned, PlanID its plan.
	Commit    string    `json:"commit,omitempty"`
	PlanID    string    `json:"plan_id,omitempty"`
	PlannedAt time.Time `json:"planned_at,omitzero"`
	// AppliedPlanID is the last plan the server applied.
	AppliedPlanID string `json:"applied_plan_id,omitempty"`
	// LastSync is when the branch was last read successfully.
	LastSync time.Time `json:"last_sync,omitzero"`
	// LastError is the last failed step, cleared when the step succeeds.
	LastError string `json:"last_error,omitempty"`
}

// Reconciler keeps the store in step with the watched branch: it plans
// every new commit once, applies it when meridian.yaml says auto_apply,
// checks drift on a schedule and reviews pull requests. Every step that
// fails is recorded and retried with backoff; no failure stops the loop.
type Reconciler struct {
	st      Store
	loader  Loader
	planner Planner
	applier Applier
	drift   DriftChecker
	opts    ReconcilerOptions
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	// flight coalesces concurrent plans (and applies) of the same inputs;
	// done remembers finished plans so that a commit is planned once.
	flight singleflight.Group
	done   *fifo[*PlanOutput]
	// configs caches parsed configs by commit, for tags in cost reports.
	configs *fifo[*meridian.Config]
	// reviews remembers finished pull-request reviews by head and base.
	reviews *fifo[*PRResult]

	mu       sync.Mutex
	state    BranchState
	waiters  []chan error
	driftInt time.Duration
	base     context.Context // the Run context, for work that outlives a request
	bg       sync.WaitGroup  // background work; Add only through track
	stopping bool
	prLocks  map[int]*sync.Mutex
	prHeads  map[int]string // newest head seen per pull request
	pingAt   time.Time      // last Loader.Ping, for /readyz
	pingErr  error
	skipped  map[string]bool // blocking plans already reported as not auto-applied

	wake chan struct{}
}

// NewReconciler returns a reconciler. A nil applier or drift checker
// disables applying or drift checks, with a clear error when asked.
func NewReconciler(st Store, loader Loader, planner Planner, applier Applier, drift DriftChecker, opts ReconcilerOptions) *Reconciler {
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.DriftInterval <= 0 {
		opts.DriftInterval = time.Hour
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = opts.Interval
	}
	if opts.Actor == "" {
		opts.Actor = "meridian-serve"
	}
	if opts.PR.StatusContext == "" {
		opts.PR.StatusContext = "meridian/plan"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if applier == nil {
		applier = Disabled{Reason: "no applier configured"}
	}
	if drift == nil {
		drift = Disabled{Reason: "no drift checker configured"}
	}
	return &Reconciler{
		st: st, loader: loader, planner: planner, applier: applier, drift: drift, opts: opts,
		log: opts.Logger, metrics: opts.Metrics, now: opts.Now,
		done: newFIFO[*PlanOutput](4096), configs: newFIFO[*meridian.Config](32), reviews: newFIFO[*PRResult](1024),
		state: BranchState{Branch: opts.Branch}, driftInt: opts.DriftInterval,
		base: context.Background(), prLocks: map[int]*sync.Mutex{}, skipped: map[string]bool{},
		wake: make(chan struct{}, 1),
	}
}

// State returns what the reconciler knows about the watched branch.
func (r *Reconciler) State() BranchState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Run plans the branch head at once, then polls every Interval (or when
// woken by Sync), checks drift every drift interval, and returns nil when
// ctx ends, after the step in progress has finished or been abandoned and
// background work (pull-request reviews, applies) has stopped.
func (r *Reconciler) Run(ctx context.Context) error {
	r.mu.Lock()
	r.base = ctx
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.stopping = true
		r.mu.Unlock()
		r.bg.Wait()
	}()
	now := r.now()
	nextSync, nextDrift := now, now.Add(r.driftInterval())
	var syncFails, driftFails int
	trigger := "startup"
	for {
		wait := time.Until(minTime(nextSync, nextDrift))
		timer := time.NewTimer(max(wait, 0))
		woken := false
		select {
		case <-ctx.Done():
			timer.Stop()
			r.release(ctx.Err())
			return nil
		case <-r.wake:
			woken = true
		case <-timer.C:
		}
		timer.Stop()
		now = r.now()
		if woken || !now.Before(nextSync) {
			r.mu.Lock()
			waiters := r.waiters
			r.waiters = nil
			r.mu.Unlock()
			if len(waiters) > 0 && trigger != "startup" {
				trigger = "push"
			}
			err := r.sync(ctx, trigger)
			for _, w := range waiters {
				w <- err
			}
			trigger = "poll"
			if err != nil && ctx.Err() == nil {
				syncFails++
				nextSync = r.now().Add(r.backoff(syncFails))
			} else {
				syncFails = 0
				nextSync = r.now().Add(r.opts.Interval)
			}
		}
		if !r.now().Before(nextDrift) {
			if err := r.checkDrift(ctx); err != nil && ctx.Err() == nil {
				driftFails++
				nextDrift = r.now().Add(r.backoff(driftFails))
			} else {
				driftFails = 0
				nextDrift = r.now().Add(r.driftInterval())
			}
		}
	}
}

// release answers sync waiters when the loop stops.
func (r *Reconciler) release(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.waiters {
		w <- meridian.Errorf(EUNAVAILABLE, "server is shutting down: %v", err)
	}
	r.waiters = nil
}

// Sync asks the loop to read and plan the branch now, and waits until a
// sync that started after the call has finished. Concurrent calls share one
// sync: fifty push deliveries in a burst cause one fetch and at most one
// plan per new commit.
func (r *Reconciler) Sync(ctx context.Context) error {
	ch := make(chan error, 1)
	r.mu.Lock()
	r.waiters = append(r.waiters, ch)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is RetryMin·2^(n-1), capped at RetryMax, with ±20% jitter so that
// several servers do not retry in step.
func (r *Reconciler) backoff(n int) time.Duration {
	d := float64(r.opts.RetryMin) * math.Pow(2, float64(n-1))
	d = math.Min(d, float64(r.opts.RetryMax))
	return time.Duration(d * (0.8 + 0.4*mrand.Float64()))
}

func (r *Reconciler) driftInterval() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.driftInt
}

// sync reads the branch, plans its head once, and applies it when the
// config asks for it.
func (r *Reconciler) sync(ctx context.Context, trigger string) error {
	snap, err := r.loader.Load(ctx, r.opts.Branch)
	if err != nil {
		return r.failed(ctx, "sync", "", fmt.Errorf("read branch %s: %w", r.opts.Branch, err))
	}
	r.configs.put(snap.Commit, snap.Config)
	r.mu.Lock()
	r.state.LastSync = r.now()
	if d := snap.Config.Settings.DriftInterval; d > 0 {
		r.driftInt = d
	} else {
		r.driftInt = r.opts.DriftInterval
	}
	r.mu.Unlock()
	out, err := r.planSnapshot(ctx, snap, snap.Config, TerraformTrusted, trigger)
	if err != nil {
		return r.failed(ctx, "sync", "", fmt.Errorf("plan %s at %s: %w", r.opts.Branch, short(snap.Commit), err))
	}
	r.mu.Lock()
	if r.state.PlanID != out.Plan.ID {
		r.state.PlannedAt = r.now()
	}
	r.state.Commit, r.state.PlanID, r.state.LastError = snap.Commit, out.Plan.ID, ""
	r.mu.Unlock()
	r.observePlan(out.Plan)
	if !snap.Config.Settings.AutoApply {
		return nil
	}
	return r.autoApply(ctx, out.Plan)
}

// observePlan updates the gauges that describe the branch's newest plan.
func (r *Reconciler) observePlan(p *meridian.Plan) {
	r.metrics.findings.Reset()
	for _, f := range p.Findings {
		r.metrics.findings.WithLabelValues(f.Rule, string(f.Severity)).Inc()
	}
	r.metrics.monthlyCost.Reset()
	byTarget := map[string]meridian.Money{}
	for _, pl := range p.Placements {
		byTarget[pl.Target] += pl.MonthlyCost
	}
	for t, c := range byTarget {
		r.metrics.monthlyCost.WithLabelValues(t, p.Currency).Set(float64(c.Round()))
	}
}

// ledger reads the applied-state ledger as the planner wants it.
func (r *Reconciler) ledger(ctx context.Context) (map[string][]string, error) {
	es, err := r.st.LedgerEntries(ctx, r.opts.RepoID)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	out := map[string][]string{}
	for _, e := range es {
		if e.Replicas > 0 {
			out[e.Workload] = append(out[e.Workload], e.Target)
		}
	}
	for _, ts := range out {
		sort.Strings(ts)
	}
	return out, nil
}

// planSnapshot plans cfg (snap's config, or a review config) once per set
// of inputs: the commit, the policies judging it, the ledger and the
// Terraform mode. Concurrent callers share one plan; later callers get the
// remembered one. The shared work runs on the server's context, not the
// first caller's, so that one impatient client cannot cancel it for all.
func (r *Reconciler) planSnapshot(ctx context.Context, snap *Snapshot, cfg *meridian.Config, tf TerraformMode, trigger string) (*PlanOutput, error) {
	current, err := r.ledger(ctx)
	if err != nil {
		return nil, err
	}
	key := planKey(snap, cfg, current, tf)
	if out, ok := r.done.get(key); ok {
		return out, nil
	}
	ch := r.flight.DoChan(key, func() (any, error) {
		if out, ok := r.done.get(key); ok {
			return out, nil
		}
		start := r.now()
		out, err := r.planner.Plan(r.baseContext(), PlanInput{Snapshot: snap, Config: cfg, Current: current, Terraform: tf, Save: true, Actor: r.opts.Actor})
		r.metrics.planDuration.WithLabelValues(trigger).Observe(r.now().Sub(start).Seconds())
		switch {
		case err != nil:
			r.metrics.plans.WithLabelValues(trigger, "error").Inc()
			return nil, err
		case out.Plan.Blocking():
			r.metrics.plans.WithLabelValues(trigger, "blocked").Inc()
		default:
			r.metrics.plans.WithLabelValues(trigger, "clean").Inc()
		}
		r.done.put(key, out)
		return out, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*PlanOutput), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// planKey hashes everything a plan depends on besides the price catalog,
// which is fixed for the server's lifetime.
func planKey(snap *Snapshot, cfg *meridian.Config, current map[string][]string, tf TerraformMode) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%v\x00%d\x00", snap.Source, snap.Commit, snap.Dirty, tf)
	for _, p := range cfg.PolicyFiles() {
		fmt.Fprintf(h, "policy %s\x00%s\x00", p, cfg.Policies[p])
	}
	fmt.Fprintf(h, "tags %q %q\x00", cfg.Settings.RequiredTags, sortedPairs(cfg.Settings.TagFormats))
	ws := make([]string, 0, len(current))
	for w := range current {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	for _, w := range ws {
		fmt.Fprintf(h, "ledger %s=%q\x00", w, current[w])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (r *Reconciler) baseContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.base
}

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
	if rec.Ref != r.opts.Branch {
		return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s is of %q, not of branch %s: only plans of the watched branch are applied (Meridian applies on merge)",
			planID, rec.Ref, r.opts.Branch)
	}
	r.audit(ctx, store.AuditEvent{Actor: actor, Action: "apply.requested", PlanID: planID, Detail: "commit " + short(rec.Commit)})
	return r.apply(ctx, planID, actor, "api")
}

func (r *Reconciler) apply(ctx context.Context, planID, actor, trigger string) (*ApplyOutput, error) {
	ch := r.flight.DoChan("apply\x00"+planID, func() (any, error) {
		done, ok := r.track()
		if !ok {
			return nil, errShutdown
		}
		defer done()
		start := r.now()
		out, err := r.applier.Apply(r.baseContext(), planID, actor)
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
	out, err := r.drift.CheckDrift(ctx, r.opts.Actor)
	if meridian.ErrorCode(err) == EUNAVAILABLE {
		return nil // not configured: nothing to retry
	}
	if err != nil {
		return r.failed(ctx, "drift", "", fmt.Errorf("drift check: %w", err))
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

// failed records a failed step: the branch state, a metric, the log, and a
// failed run in the store (so that it shows in the API), then returns err.
func (r *Reconciler) failed(ctx context.Context, stage, planID string, err error) error {
	if ctx.Err() != nil {
		return err // shutting down: not the step's fault
	}
	r.metrics.loopErrors.WithLabelValues(stage).Inc()
	r.mu.Lock()
	r.state.LastError = fmt.Sprintf("%s: %v", stage, err)
	r.mu.Unlock()
	r.log.ErrorContext(ctx, "reconcile step failed; retrying with backoff", "stage", stage, "plan", planID, "err", err)
	if stage != "sync" {
		// The planner, applier and drift checker record their own runs;
		// a sync that failed before planning has none.
		return err
	}
	run := store.Run{ID: newRunID(store.RunPlan, r.now()), RepoID: r.opts.RepoID, Kind: store.RunPlan, PlanID: planID,
		Owner: store.Owner{Actor: r.opts.Actor}, StartedAt: r.now()}
	if cerr := r.st.CreateRun(ctx, run); cerr != nil {
		r.log.ErrorContext(ctx, "record failed run", "err", cerr)
		return err
	}
	if ferr := r.st.FinishRun(ctx, run.ID, nil, store.RunFinish{Status: store.RunFailed, Error: err.Error()}); ferr != nil {
		r.log.ErrorContext(ctx, "record failed run", "err", ferr)
	}
	return err
}

func (r *Reconciler) audit(ctx context.Context, e store.AuditEvent) {
	e.RepoID = r.opts.RepoID
	if err := r.st.AppendAudit(ctx, e); err != nil {
		r.log.ErrorContext(ctx, "append audit event", "action", e.Action, "err", err)
	}
}

// newRunID returns a run ID like the workflow's: kind, time, randomness.
func newRunID(kind store.RunKind, now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", kind, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// errShutdown is returned for work asked for while the server stops.
var errShutdown = meridian.Errorf(EUNAVAILABLE, "server is shutting down")

// track registers background work that Run waits for before it returns.
// It refuses once Run is stopping, so that no work starts unwatched.
func (r *Reconciler) track() (done func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return nil, false
	}
	r.bg.Add(1)
	return r.bg.Done, true
}
