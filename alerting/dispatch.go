package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Store is what the Dispatcher reads and writes: the store's alert outbox
// and silences, and the ledger and open findings for the targets a
// workload runs on.
// store/sqlite implements it.
type Store interface {
	store.AlertOutbox
	ListSilences(ctx context.Context, f store.SilenceFilter) ([]meridian.Silence, error)
	LedgerEntries(ctx context.Context, repoID string) ([]store.LedgerEntry, error)
	// FindingRecords reads the open findings whose alerts an apply may
	// move to other targets.
	FindingRecords(ctx context.Context, f store.FindingFilter) ([]meridian.FindingRecord, error)
}

// Default delivery tuning.
const (
	DefaultBackoffBase    = time.Second
	DefaultBackoffCap     = 5 * time.Minute
	DefaultMaxAttempts    = 12
	DefaultMaxAge         = 24 * time.Hour
	DefaultSendTimeout    = 30 * time.Second
	DefaultTick           = 2 * time.Second
	DefaultBatch          = 100
	DefaultRepostInterval = time.Minute
)

// pruneEvery is how often Step prunes finished alert rows: often enough
// that the tables stay small, rarely enough that it costs nothing.
const pruneEvery = time.Hour

// DispatcherOptions tunes a Dispatcher. Zero values mean the defaults.
type DispatcherOptions struct {
	// Now is the clock (default time.Now). It alone decides what is due.
	Now func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// Enrich, when set, adds what the store does not know to an alert
	// before it is first recorded and at every later change: Frozen,
	// URL, Owner, Remediation. It must not block for long.
	Enrich func(ctx context.Context, a *meridian.Alert)
	// BackoffBase and BackoffCap bound the exponential backoff between
	// attempts: the n-th retry waits a random time in
	// [0, min(BackoffCap, BackoffBase*2^(n-1))) (full jitter).
	BackoffBase time.Duration
	BackoffCap  time.Duration
	// Jitter picks the wait within a backoff window d (default: uniform
	// in [0, d)). Tests make it deterministic.
	Jitter func(d time.Duration) time.Duration
	// MaxAttempts and MaxAge send a delivery to the dead letters after
	// that many failed attempts or once it is that old.
	MaxAttempts int
	MaxAge      time.Duration
	// SendTimeout bounds one send.
	SendTimeout time.Duration
	// RepostInterval is how often firing alerts are re-posted to
	// Alertmanager sinks, with the same startsAt, so that Alertmanager
	// (resolve_timeout 5m by default) never resolves them on its own.
	RepostInterval time.Duration
	// Tick is how often Run steps when nothing wakes it.
	Tick time.Duration
	// Batch is how many outbox rows and deliveries one Step takes at most.
	Batch int
	// Retention is how long finished work is kept (processed outbox rows,
	// delivered messages, resolved alerts, ended silences); Step prunes
	// older rows once an hour. Default store.DefaultEventRetention.
	Retention time.Duration
	// AwaitConfig makes Run wait for the first SetConfig before its
	// first Step: a server that has not read alerting.yaml yet (at
	// startup, or a replica that just became the leader) would otherwise
	// record the outbox's alerts for no sink and dead-letter the pending
	// deliveries of sinks it does not know yet.
	AwaitConfig bool
}

// Dispatcher turns the store's alert outbox into notifications: alert
// transitions, grouped messages per route and sink, and deliveries with
// retries, rate limits and dead letters. Everything it decides is written
// to the store before it sends, so that a restart (or a crash at any
// point) loses no notification, and every message keeps its idempotency
// key across retries and restarts. Run one Dispatcher per database.
type Dispatcher struct {
	st   Store
	opts DispatcherOptions
	log  *slog.Logger
	wake chan struct{}

	// stepMu serializes Steps: Run's loop and callers such as tests.
	stepMu sync.Mutex
	// pruned is when Step last pruned (under stepMu).
	pruned time.Time

	mu       sync.Mutex
	cfg      *Config
	senders  map[string]Sender
	limiters map[string]*rate.Limiter
	// configured is closed by the first SetConfig.
	configured     chan struct{}
	configuredOnce sync.Once

	metrics *deliveryCounters
}

// NewDispatcher returns a Dispatcher on st with no sinks until SetConfig:
// alerts are still recorded and listable.
func NewDispatcher(st Store, opts DispatcherOptions) *Dispatcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Enrich == nil {
		opts.Enrich = func(context.Context, *meridian.Alert) {}
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffCap <= 0 {
		opts.BackoffCap = DefaultBackoffCap
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return time.Duration(rand.Int64N(int64(d)))
		}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.RepostInterval <= 0 {
		opts.RepostInterval = DefaultRepostInterval
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Retention <= 0 {
		opts.Retention = store.DefaultEventRetention
	}
	return &Dispatcher{st: st, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		cfg: &Config{}, senders: map[string]Sender{}, limiters: map[string]*rate.Limiter{},
		configured: make(chan struct{}), metrics: newDeliveryCounters()}
}

// SetConfig switches to a new alerting config and its senders (by sink
// name), e.g. after alerting.yaml changed on the tracked branch. nil cfg
// means no sinks. Pending deliveries to a sink that is gone go to the dead
// letters when they are next due; every sink's rate limit starts afresh.
func (d *Dispatcher) SetConfig(cfg *Config, senders map[string]Sender) {
	if cfg == nil {
		cfg = &Config{}
	}
	limiters := map[string]*rate.Limiter{}
	for _, s := range cfg.Sinks {
		if l := s.Limiter(); l != nil {
			limiters[s.Name] = l
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg, d.senders, d.limiters = cfg, senders, limiters
	d.configuredOnce.Do(func() { close(d.configured) })
}

// Notify wakes Run at once (e.g. from controlplane.RecorderOptions.Notify).
// It never blocks.
func (d *Dispatcher) Notify(int64) {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run steps until ctx ends: at every Notify and every Tick (with
// AwaitConfig, once SetConfig has been called). A failed step is logged
// and retried at the next one.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.opts.AwaitConfig {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.configured:
		}
	}
	t := time.NewTicker(d.opts.Tick)
	defer t.Stop()
	for {
		if err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("alert dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-t.C:
		}
	}
}

// Step does what is due now, in order: it turns outbox rows into alert
// transitions, re-checks silences, flushes due groups into messages and
// sends the due deliveries. Each write is its own transaction; a crash
// between any two leaves the rest to the next Step.
func (d *Dispatcher) Step(ctx context.Context) error {
	d.stepMu.Lock()
	defer d.stepMu.Unlock()
	var errs []error
	if err := d.processOutbox(ctx); err != nil {
		errs = append(errs, fmt.Errorf("outbox: %w", err))
	}
	if err := d.checkSilences(ctx); err != nil {
		errs = append(errs, fmt.Errorf("silences: %w", err))
	}
	if err := d.flushGroups(ctx); err != nil {
		errs = append(errs, fmt.Errorf("groups: %w", err))
	}
	if err := d.deliver(ctx); err != nil {
		errs = append(errs, fmt.Errorf("deliveries: %w", err))
	}
	if now := d.opts.Now(); now.Sub(d.pruned) >= pruneEvery {
		if _, err := d.st.PruneAlerts(ctx, now.Add(-d.opts.Retention)); err != nil {
			errs = append(errs, err)
		} else {
			d.pruned = now
		}
	}
	return errors.Join(errs...)
}

// ListAlerts returns the alerts matching f, the most recently changed
// first.
func (d *Dispatcher) ListAlerts(ctx context.Context, f store.AlertFilter) ([]meridian.Alert, error) {
	recs, err := d.st.ListAlerts(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out := make([]meridian.Alert, len(recs))
	for i, r := range recs {
		out[i] = r.Alert
	}
	return out, nil
}

// ListDeadLetters returns the deliveries that gave up, newest first.
func (d *Dispatcher) ListDeadLetters(ctx context.Context, limit int) ([]store.AlertDelivery, error) {
	out, err := d.st.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDead, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// ReplayDeadLetter requeues a dead delivery with the same message and
// idempotency key, due at once, and wakes Run.
func (d *Dispatcher) ReplayDeadLetter(ctx context.Context, id int64) error {
	if err := d.st.ReplayDeadLetter(ctx, id, d.opts.Now()); err != nil {
		return fmt.Errorf("replay dead letter %d: %w", id, err)
	}
	d.Notify(0)
	return nil
}

// Stats returns the outbox depth, the oldest undelivered age and the
// counts by state and sink.
func (d *Dispatcher) Stats(ctx context.Context) (store.AlertStats, error) {
	s, err := d.st.AlertStats(ctx)
	if err != nil {
		return s, fmt.Errorf("alert stats: %w", err)
	}
	return s, nil
}
