package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
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
	// PlanTimeout, PRTimeout, ApplyTimeout and DriftTimeout are the time
	// budgets of one plan, one pull-request review (its plans included),
	// one apply and one drift check (defaults 15m, 15m, 2h and 1h). Work
	// that goes over is cancelled and recorded as failed, saying so.
	PlanTimeout, PRTimeout, ApplyTimeout, DriftTimeout time.Duration
	// PRConcurrency is how many pull-request reviews run at once (default
	// 2); more wait their turn, so that a burst of pull requests cannot
	// take every core from the tracked branch.
	PRConcurrency int
	// Recorder, when set, turns the loop's plans and applies of the
	// watched branch into history: the event feed, the finding lifecycle
	// and the cost history.
	Recorder *Recorder
	// Live makes the plans of the tracked branch hold the workloads of
	// the open live findings the Recorder keeps on LiveBranch(Branch)
	// (the Auditor's), as `meridian plan` does with an audit's findings.
	// Reading them from the store means a restarted leader holds the
	// same workloads. Needs Recorder.
	Live bool
	// Alerting, when set, is given the tracked branch's alerting.yaml at
	// every new commit (never a pull request's).
	Alerting AlertingConfigurer
	// Locks, LockAge and LockCheckInterval watch for target locks held
	// longer than LockAge, checked every LockCheckInterval (default
	// 1m), as lock conditions of the Recorder. Off unless Locks, LockAge
	// and Recorder are all set.
	Locks             LockLister
	LockAge           time.Duration
	LockCheckInterval time.Duration
	// Elected says that the reconciler runs only while this replica
	// leads the replicas sharing its store (package leader): Run is called
	// once per term. Between terms, the work only the leader does (syncs,
	// plans of the API, applies, pull-request reviews) is refused with
	// ErrNotLeader, and State is the leader's, as given to FollowState.
	// Without it, work asked for before Run is accepted, as a server alone
	// on its store always leads.
	Elected bool
	// CheckConfig, when set, vets the config of a plan before it is
	// applied, on merge or through the API; its error refuses the apply
	// (cmd/meridian refuses a deploy repository that replicas would not
	// share).
	CheckConfig func(cfg *meridian.Config) error
	// Logger defaults to discarding; Metrics to a set on a registry of
	// their own (pass the server's, so that /metrics shows them).
	Logger  *slog.Logger
	Metrics *Metrics
	// TracerProvider traces syncs, pull-request reviews and their
	// comments (default: no tracing).
	TracerProvider trace.TracerProvider
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
	// Alerting is the state of the branch's alerting.yaml.
	Alerting AlertingState `json:"alerting"`
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
	tracer  trace.Tracer

	// flight coalesces concurrent plans (and applies) of the same inputs;
	// done remembers finished plans so that a commit is planned once.
	flight singleflight.Group
	done   *fifo[*PlanOutput]
	// configs caches parsed configs by commit, for tags in cost reports.
	configs *fifo[*meridian.Config]
	// reviews remembers finished pull-request reviews by head and base.
	reviews *fifo[*PRResult]
	// saved caches stored plans, decoded, by ID, for SavedPlan.
	saved *fifo[savedPlan]

	mu      sync.Mutex
	state   BranchState
	waiters []chan error
	// syncLinks are the spans of the Sync calls the next sync answers.
	syncLinks []trace.Link
	driftInt  time.Duration
	base      context.Context // the Run context, for work that outlives a request
	bg        sync.WaitGroup  // background work; Add only through track
	running   bool            // Run is running and not stopping
	stopped   bool            // Run has returned (and not run again)
	prLocks   map[int]*sync.Mutex
	prHeads   map[int]string // newest head seen per pull request
	pingAt    time.Time      // last Loader.Ping, for /readyz
	pingErr   error
	skipped   map[string]bool // blocking plans already reported as not auto-applied
	// alertingSeen is the commit whose alerting.yaml was last handed on.
	alertingSeen string

	wake chan struct{}
	// prSlots holds one token per pull-request review in progress.
	prSlots chan struct{}
}

// budget derives the context of one piece of background work from the
// server's: it ends when the server stops or after d, whichever is first,
// and its cause names the budget that ran out.
func (r *Reconciler) budget(what string, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(r.baseContext(), d,
		meridian.Errorf(meridian.ETIMEOUT, "%s exceeded its time budget of %s", what, d))
}

// overBudget returns err, naming the budget when ctx ran out of time: a
// bare "context deadline exceeded" tells an operator nothing.
func overBudget(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
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
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&opts.PlanTimeout, 15 * time.Minute}, {&opts.PRTimeout, 15 * time.Minute}, {&opts.ApplyTimeout, 2 * time.Hour}, {&opts.DriftTimeout, time.Hour}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if opts.LockCheckInterval <= 0 {
		opts.LockCheckInterval = time.Minute
	}
	if opts.PRConcurrency <= 0 {
		opts.PRConcurrency = 2
	}
	if opts.PR.StatusContext == "" {
		opts.PR.StatusContext = "meridian/plan"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		// Counted on a registry nobody reads: the loop never checks
		// for nil metrics.
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
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
		log: opts.Logger, metrics: opts.Metrics, now: opts.Now, tracer: telemetry.Tracer(opts.TracerProvider, "controlplane"),
		done: newFIFO[*PlanOutput](4096), configs: newFIFO[*meridian.Config](32), reviews: newFIFO[*PRResult](1024),
		saved: newFIFO[savedPlan](128),
		state: BranchState{Branch: opts.Branch}, driftInt: opts.DriftInterval,
		base: context.Background(), prLocks: map[int]*sync.Mutex{}, skipped: map[string]bool{},
		wake: make(chan struct{}, 1), prSlots: make(chan struct{}, opts.PRConcurrency),
	}
}

// Metrics returns the reconciler's metrics.
func (r *Reconciler) Metrics() *Metrics { return r.metrics }

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
//
// With ReconcilerOptions.Elected, Run is called again for each term of
// leadership, after the previous call returned.
func (r *Reconciler) Run(ctx context.Context) error {
	r.mu.Lock()
	r.base, r.running, r.stopped = ctx, true, false
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running, r.stopped = false, true
		r.mu.Unlock()
		r.bg.Wait()
	}()
	// Drift checks run Terraform on every applied target and may take
	// minutes: they get a loop of their own, so that new commits are not
	// kept waiting. The target locks keep them and applies apart.
	if done, err := r.track(); err == nil {
		go func() { defer done(); r.driftLoop(ctx) }()
	}
	if r.opts.Locks != nil && r.opts.LockAge > 0 && r.opts.Recorder != nil {
		if done, err := r.track(); err == nil {
			go func() { defer done(); r.lockLoop(ctx) }()
		}
	}
	nextSync := r.now()
	fails := 0
	trigger := "startup"
	for {
		woken, ok := r.sleep(ctx, nextSync)
		if !ok {
			r.release(ctx.Err())
			return nil
		}
		if !woken && r.now().Before(nextSync) {
			continue
		}
		r.mu.Lock()
		waiters, links := r.waiters, r.syncLinks
		r.waiters, r.syncLinks = nil, nil
		r.mu.Unlock()
		if len(waiters) > 0 && trigger != "startup" {
			trigger = "push"
		}
		// A sync is a trace of its own, linked to the webhook deliveries
		// (and other Sync calls) it answers: one sync may serve many.
		sctx, span := r.tracer.Start(ctx, "reconcile", trace.WithNewRoot(), trace.WithLinks(links...),
			trace.WithAttributes(attribute.String("meridian.trigger", trigger), attribute.String("meridian.branch", r.opts.Branch)))
		err := r.sync(sctx, trigger)
		telemetry.End(span, err)
		for _, w := range waiters {
			w <- err
		}
		trigger = "poll"
		if err != nil && ctx.Err() == nil {
			fails++
			nextSync = r.now().Add(r.backoff(fails))
		} else {
			fails = 0
			nextSync = r.now().Add(r.opts.Interval)
		}
	}
}

// sleep waits until the clock reaches t or Sync wakes the loop. It reports
// whether it was woken, and false for ok when ctx ended.
func (r *Reconciler) sleep(ctx context.Context, t time.Time) (woken, ok bool) {
	timer := time.NewTimer(max(t.Sub(r.now()), 0))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-r.wake:
		return true, true
	case <-timer.C:
		return false, true
	}
}

// driftLoop checks drift every drift interval (meridian.yaml's, once the
// branch was read), retrying failures with backoff.
func (r *Reconciler) driftLoop(ctx context.Context) {
	fails := 0
	next := r.now().Add(r.driftInterval())
	for {
		timer := time.NewTimer(max(next.Sub(r.now()), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if r.now().Before(next) {
			continue
		}
		if err := r.checkDrift(ctx); err != nil && ctx.Err() == nil {
			fails++
			next = r.now().Add(r.backoff(fails))
		} else {
			fails = 0
			next = r.now().Add(r.driftInterval())
		}
	}
}

// release answers sync waiters when the loop stops.
func (r *Reconciler) release(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.waiters {
		w <- meridian.Errorf(meridian.EUNAVAILABLE, "server is shutting down: %v", err)
	}
	r.waiters, r.syncLinks = nil, nil
}

// Sync asks the loop to read and plan the branch now, and waits until a
// sync that started after the call has finished. Concurrent calls share one
// sync: fifty push deliveries in a burst cause one fetch and at most one
// plan per new commit.
func (r *Reconciler) Sync(ctx context.Context) error {
	ch := make(chan error, 1)
	r.mu.Lock()
	if r.opts.Elected && !r.running {
		r.mu.Unlock()
		return ErrNotLeader
	}
	r.waiters = append(r.waiters, ch)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.syncLinks = append(r.syncLinks, trace.Link{SpanContext: sc})
	}
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
	snap, err := r.loader.Load(ctx, r.branchRef())
	if err != nil {
		return r.failed(ctx, "sync", "", fmt.Errorf("read branch %s: %w", r.opts.Branch, err))
	}
	r.configs.put(snap.Commit, snap.Config)
	r.syncAlerting(ctx, snap)
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
	newPlan := r.state.PlanID != out.Plan.ID
	if newPlan {
		r.state.PlannedAt = r.now()
	}
	r.state.Commit, r.state.PlanID, r.state.LastError = snap.Commit, out.Plan.ID, ""
	r.mu.Unlock()
	r.metrics.lastSync.Set(float64(r.now().UnixNano()) / 1e9)
	r.observePlan(out.Plan)
	if newPlan {
		r.recordPlan(ctx, snap, out.Plan)
		r.recordConditions(ctx, snap, out.Plan)
	}
	if !snap.Config.Settings.AutoApply {
		return nil
	}
	if err := r.applyBranch(ctx, snap, out.Plan); err != nil {
		return &ApplyError{PlanID: out.Plan.ID, Err: err}
	}
	return nil
}

// ApplyError is what Sync returns when the branch was read and planned
// but applying its plan (auto_apply) failed or must wait: the loop
// retries the apply by itself, so a push that asked for the sync has been
// dealt with.
type ApplyError struct {
	// PlanID is the plan that was not applied.
	PlanID string
	Err    error
}

func (e *ApplyError) Error() string { return e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }

// applyBranch applies the branch's plan on merge, unless its config is
// refused or its Terraform plan left out a target that another run held.
func (r *Reconciler) applyBranch(ctx context.Context, snap *Snapshot, p *meridian.Plan) error {
	if err := r.vetConfig(snap.Config); err != nil {
		return r.failed(ctx, "apply", p.ID, fmt.Errorf("auto_apply of %s at %s: %w", r.opts.Branch, short(snap.Commit), err))
	}
	if held := skippedTargets(p); len(held) > 0 {
		// Another run (a CLI apply, or a leader that died and whose lease
		// has not run out) held these targets' locks while they were
		// planned. Applying would leave them out; the retry plans again.
		return r.failed(ctx, "apply", p.ID, fmt.Errorf("auto_apply of %s at %s waits: the Terraform plan skipped %s, whose lock another run held; planning again",
			r.opts.Branch, short(snap.Commit), strings.Join(held, ", ")))
	}
	return r.autoApply(ctx, p)
}

// vetConfig runs ReconcilerOptions.CheckConfig on cfg, as a conflict: the
// config must change before it can be applied.
func (r *Reconciler) vetConfig(cfg *meridian.Config) error {
	if r.opts.CheckConfig == nil {
		return nil
	}
	if err := r.opts.CheckConfig(cfg); err != nil {
		return meridian.Errorf(meridian.ECONFLICT, "%v", err)
	}
	return nil
}

// branchRef is the watched branch's full ref name: a tag, or any other ref
// of the same short name, never stands in for it.
func (r *Reconciler) branchRef() string {
	return gitops.BranchRef(r.opts.Branch)
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

// ErrShutdown is returned for work asked for while the server stops. Its
// code is meridian.EUNAVAILABLE: the work can be asked for again later.
var ErrShutdown = meridian.Errorf(meridian.EUNAVAILABLE, "server is shutting down")

// ErrNotLeader is returned for work only the leader does, asked of a
// replica that does not lead (ReconcilerOptions.Elected). Its code is
// meridian.EUNAVAILABLE: the leader, or this replica later, can do it.
var ErrNotLeader = meridian.Errorf(meridian.EUNAVAILABLE,
	"this replica is not the leader: only the leader plans, applies and reviews pull requests; ask again (a replica forwards this to the leader when it knows it)")

// track registers background work that Run waits for before it returns.
// It refuses once Run is stopping (ErrShutdown), and with Elected while Run
// is not running (ErrNotLeader), so that no work starts unwatched.
func (r *Reconciler) track() (done func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.idle(); err != nil {
		return nil, err
	}
	r.bg.Add(1)
	return r.bg.Done, nil
}

// idle says why work cannot start now, or nil. Callers hold r.mu. Before
// the first Run a reconciler that is not Elected accepts work, as a
// server alone on its store has always done.
func (r *Reconciler) idle() error {
	switch {
	case r.running:
		return nil
	case r.opts.Elected:
		return ErrNotLeader
	case r.stopped:
		return ErrShutdown
	}
	return nil
}

// Running reports whether Run runs (and is not stopping): with Elected,
// whether the leader's work can be asked of this reconciler.
func (r *Reconciler) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// FollowState replaces the branch state with the leader's (published
// through the store by package leader) while this replica does not lead;
// it changes nothing while Run runs.
func (r *Reconciler) FollowState(s BranchState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		r.state = s
	}
}

// Background runs job in a goroutine on the server's context (the Run
// context), not the caller's, so that work accepted on behalf of a client
// that has gone (a webhook delivery answered 202) still runs. Run waits for
// it before returning. Once Run is stopping, Background refuses with
// ErrShutdown (ErrNotLeader between terms) and job does not run.
func (r *Reconciler) Background(job func(ctx context.Context)) error {
	done, err := r.track()
	if err != nil {
		return err
	}
	ctx := r.baseContext()
	go func() {
		defer done()
		job(ctx)
	}()
	return nil
}

// RepoID is the config repo's ID in the store.
func (r *Reconciler) RepoID() string { return r.opts.RepoID }

// Source is the config repo as shown to people (no credentials).
func (r *Reconciler) Source() string { return r.opts.Source }

// Branch is the watched branch, as configured (a short name).
func (r *Reconciler) Branch() string { return r.opts.Branch }

// GitReady reports whether the config repo can be read: a sync succeeded
// recently, or a fresh check (remembered for 15 seconds) does.
func (r *Reconciler) GitReady(ctx context.Context) error {
	r.mu.Lock()
	last, checked, cerr := r.state.LastSync, r.pingAt, r.pingErr
	r.mu.Unlock()
	now := r.now()
	if !last.IsZero() && now.Sub(last) < 2*r.opts.Interval+30*time.Second {
		return nil
	}
	if !checked.IsZero() && now.Sub(checked) < 15*time.Second {
		return cerr
	}
	err := r.loader.Ping(ctx)
	r.mu.Lock()
	r.pingAt, r.pingErr = now, err
	r.mu.Unlock()
	return err
}

// traced returns ctx carrying the span of from: work the reconciler runs
// under a budget of its own stays in the trace of what asked for it.
func traced(ctx, from context.Context) context.Context {
	return trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(from))
}
