package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// flushGroups turns every due group into a message: its changed alerts and
// all its firing ones (the whole group, as Alertmanager sends it), or, when
// only the repeat is due, its firing alerts marked Repeat.
func (d *Dispatcher) flushGroups(ctx context.Context) error {
	now := d.opts.Now()
	groups, err := d.st.DueGroups(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, g := range groups {
		if err := d.flushGroup(ctx, g, now); err != nil && meridian.ErrorCode(err) != meridian.ECONFLICT {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) flushGroup(ctx context.Context, g store.AlertGroup, now time.Time) error {
	members, err := d.st.GroupAlerts(ctx, g.Sink, g.Group)
	if err != nil {
		return err
	}
	f := store.GroupFlush{Sink: g.Sink, Group: g.Group, Seq: g.Seq + 1, Delivery: store.AlertDelivery{CreatedAt: now}}
	// A repeat that falls due while changes wait for their group
	// interval takes them along: the flush clears every pending mark.
	changed := !g.FlushAt.IsZero()
	var alerts []meridian.Alert
	firing := false
	for _, m := range members {
		if m.State == meridian.AlertFiring {
			firing = true
		} else {
			f.Ended = append(f.Ended, m.ID)
		}
		if m.State == meridian.AlertFiring || (changed && m.Pending) {
			alerts = append(alerts, m.Alert)
		}
	}
	if firing {
		every := g.RepeatInterval
		if d.isAlertmanager(g.Sink) && (every <= 0 || d.opts.RepostInterval < every) {
			every = d.opts.RepostInterval
		}
		if every > 0 {
			f.RepeatAt = now.Add(every)
		}
	}
	if len(alerts) > 0 {
		m := Message{Sink: g.Sink, Group: g.Group, Alerts: alerts, Repeat: !changed, Created: now}
		m.Key = MessageKey(m, f.Seq)
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("group %s/%s: %w", g.Sink, g.Group, err)
		}
		f.Delivery.Key, f.Delivery.Message = m.Key, b
	}
	return d.st.FlushGroup(ctx, f)
}

// MessageKey is a message's idempotency key: a hash of its sink, group,
// sequence number within the group, and each alert's ID, state and start.
// It depends only on what the store keeps, so a message made again after
// a crash has the key it had before, and a retry keeps it too.
func MessageKey(m Message, seq int64) string {
	type part struct{ id, state, starts string }
	parts := make([]part, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		parts = append(parts, part{a.ID, string(a.State), strconv.FormatInt(a.StartsAt.UnixMilli(), 10)})
	}
	slices.SortFunc(parts, func(a, b part) int {
		if a.id != b.id {
			if a.id < b.id {
				return -1
			}
			return 1
		}
		return 0
	})
	fields := []string{m.Sink, m.Group, strconv.FormatInt(seq, 10), strconv.FormatBool(m.Repeat)}
	for _, p := range parts {
		fields = append(fields, p.id, p.state, p.starts)
	}
	return hashParts(fields...)[:32]
}

func (d *Dispatcher) isAlertmanager(sink string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.cfg.Sink(sink)
	return ok && s.Type == SinkAlertmanager
}

// deliver sends the due deliveries, oldest first.
func (d *Dispatcher) deliver(ctx context.Context) error {
	due, err := d.st.DueDeliveries(ctx, d.opts.Now(), d.opts.Batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, dl := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := d.attempt(ctx, dl); err != nil && meridian.ErrorCode(err) != meridian.ECONFLICT {
			errs = append(errs, fmt.Errorf("delivery %d: %w", dl.ID, err))
		}
	}
	return errors.Join(errs...)
}

// attempt sends one delivery and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, dl store.AlertDelivery) error {
	now := d.opts.Now()
	d.mu.Lock()
	sender, ok := d.senders[dl.Sink]
	limiter := d.limiters[dl.Sink]
	d.mu.Unlock()
	res := store.DeliveryAttempt{ID: dl.ID, Status: store.DeliveryDead, Attempts: dl.Attempts, At: now, NextAttemptAt: dl.NextAttemptAt}
	switch {
	case !ok:
		res.LastError = fmt.Sprintf("sink %q is not configured", dl.Sink)
		d.metrics.outcome(dl.Sink, outcomeDead)
		return d.st.FinishAttempt(ctx, res)
	case now.Sub(dl.CreatedAt) >= d.opts.MaxAge:
		res.LastError = clipError(fmt.Sprintf("gave up after %s: %s", d.opts.MaxAge, dl.LastError))
		d.metrics.outcome(dl.Sink, outcomeDead)
		return d.st.FinishAttempt(ctx, res)
	}
	if limiter != nil {
		r := limiter.ReserveN(now, 1)
		if wait := r.DelayFrom(now); wait > 0 {
			// Not an attempt: the sink's budget says later.
			r.CancelAt(now)
			res.Status, res.NextAttemptAt = store.DeliveryPending, now.Add(wait)
			return d.st.FinishAttempt(ctx, res)
		}
	}
	var m Message
	if err := json.Unmarshal(dl.Message, &m); err != nil {
		res.LastError = clipError("message: " + err.Error())
		d.metrics.outcome(dl.Sink, outcomeDead)
		return d.st.FinishAttempt(ctx, res)
	}
	m.Key = dl.Key
	sctx, cancel := context.WithTimeout(ctx, d.opts.SendTimeout)
	err := sender.Send(sctx, m)
	cancel()
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // shutting down: the attempt did not count
	}
	res.At = d.opts.Now()
	if err == nil {
		res.Status, res.LastError = store.DeliveryDelivered, ""
		d.metrics.outcome(dl.Sink, outcomeDelivered)
		return d.st.FinishAttempt(ctx, res)
	}
	res.Attempts++
	res.LastError = clipError(err.Error())
	d.metrics.failure(dl.Sink)
	switch {
	case errors.Is(err, ErrPermanent), res.Attempts >= d.opts.MaxAttempts:
		d.metrics.outcome(dl.Sink, outcomeDead)
		d.log.Warn("alert delivery gave up", "sink", dl.Sink, "delivery", dl.ID, "attempts", res.Attempts, "err", res.LastError)
	default:
		res.Status, res.NextAttemptAt = store.DeliveryPending, res.At.Add(d.backoff(res.Attempts, err))
		d.metrics.outcome(dl.Sink, outcomeFailed)
	}
	return d.st.FinishAttempt(ctx, res)
}

// backoff is the wait before retry n (n >= 1): full jitter over an
// exponentially growing window, and at least what the sink asked for.
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	window := d.opts.BackoffCap
	if n-1 < 32 {
		if w := d.opts.BackoffBase << (n - 1); w > 0 && w < window {
			window = w
		}
	}
	wait := d.opts.Jitter(window)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > wait {
		wait = min(ra.After, d.opts.MaxAge)
	}
	return wait
}

// maxErrorLen bounds a delivery's last error: enough to tell what went
// wrong, not a copy of a receiver's error page.
const maxErrorLen = 512

// urlPath matches what follows a URL's host: Slack's webhook URLs carry
// their secret in the path, and other receivers' tokens sit in queries.
var urlPath = regexp.MustCompile(`(https?://[^/\s"']+)[^\s"']*`)

// clipError redacts URL paths and queries from a send error and clips it.
func clipError(s string) string {
	s = urlPath.ReplaceAllString(s, "$1/…")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "…"
	}
	return s
}
