package alerting_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
)

// TestFailureBackoff: a sink answers 500 for a while, then 200. The gaps
// between attempts grow (exponential backoff, jitter made deterministic),
// and the message arrives once.
func TestFailureBackoff(t *testing.T) {
	h := newHarness(t, harnessOptions{opts: alerting.DispatcherOptions{BackoffBase: time.Second, BackoffCap: time.Minute}})
	const failures = 4
	h.recv.status = func(n int) int {
		if n < failures {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
	h.advance(time.Minute)

	reqs := h.recv.requests()
	if len(reqs) != failures+1 {
		t.Fatalf("got %d requests, want %d failed and 1 delivered", len(reqs), failures)
	}
	for i := 1; i < len(reqs); i++ {
		if reqs[i].key != reqs[0].key {
			t.Errorf("request %d has key %q, want the first one's %q: a retry keeps its idempotency key", i, reqs[i].key, reqs[0].key)
		}
		if i >= 2 && reqs[i].at.Sub(reqs[i-1].at) <= reqs[i-1].at.Sub(reqs[i-2].at) {
			t.Errorf("gap before attempt %d is %s, not more than the one before (%s): backoff does not grow",
				i, reqs[i].at.Sub(reqs[i-1].at), reqs[i-1].at.Sub(reqs[i-2].at))
		}
	}
	if got := len(h.recv.delivered(t)); got != 1 {
		t.Errorf("delivered %d messages, want 1", got)
	}
	ds, err := h.db.ListDeliveries(h.ctx, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Status != store.DeliveryDelivered || ds[0].Attempts != failures || ds[0].DeliveredAt.IsZero() {
		t.Errorf("deliveries = %+v, want one delivered after %d failed attempts", ds, failures)
	}
}

// TestBackoffFullJitter: the default jitter waits somewhere in the
// window, never beyond it.
func TestDispatchBackoffFullJitter(t *testing.T) {
	var windows []time.Duration
	h := newHarness(t, harnessOptions{opts: alerting.DispatcherOptions{BackoffBase: time.Second, BackoffCap: 4 * time.Second,
		Jitter: func(d time.Duration) time.Duration { windows = append(windows, d); return d / 2 }}})
	h.recv.status = func(int) int { return http.StatusServiceUnavailable }
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
	h.advance(30 * time.Second)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(windows) < len(want) {
		t.Fatalf("jitter windows = %v, want at least %v", windows, want)
	}
	for i, w := range want {
		if windows[i] != w {
			t.Errorf("window %d = %s, want %s (base doubling up to the cap)", i, windows[i], w)
		}
	}
}

func TestDeadLetter(t *testing.T) {
	cases := map[string]struct {
		reason       string
		status       int
		wantAttempts int
	}{
		"MaxAttempts": {reason: "A sink that keeps failing gets the message dead-lettered after MaxAttempts.", status: http.StatusBadGateway, wantAttempts: 3},
		"Permanent":   {reason: "A 4xx cannot be fixed by retrying: dead at once.", status: http.StatusBadRequest, wantAttempts: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{opts: alerting.DispatcherOptions{MaxAttempts: 3}})
			failing := true
			h.recv.status = func(int) int {
				if failing {
					return tc.status
				}
				return http.StatusOK
			}
			h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
			h.advance(time.Minute)
			dead, err := h.d.ListDeadLetters(h.ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 1 || dead[0].Attempts != tc.wantAttempts || dead[0].LastError == "" {
				t.Fatalf("%s\ndead letters = %+v, want one after %d attempts with its error", tc.reason, dead, tc.wantAttempts)
			}
			if n := len(h.recv.requests()); n != tc.wantAttempts {
				t.Errorf("%s\nreceiver saw %d requests, want %d", tc.reason, n, tc.wantAttempts)
			}
			h.recv.mu.Lock()
			failing = false
			h.recv.mu.Unlock()
			if err := h.d.ReplayDeadLetter(h.ctx, dead[0].ID); err != nil {
				t.Fatal(err)
			}
			h.step()
			got := h.recv.delivered(t)
			if len(got) != 1 || got[0].Key != dead[0].Key {
				t.Errorf("after replay delivered %+v, want the dead letter's message (key %s) once", got, dead[0].Key)
			}
			if dead, _ := h.d.ListDeadLetters(h.ctx, 0); len(dead) != 0 {
				t.Errorf("dead letters after replay = %+v, want none", dead)
			}
			if err := h.d.ReplayDeadLetter(h.ctx, dead[0].ID); meridian.ErrorCode(err) != meridian.ENOTFOUND {
				t.Errorf("replaying a delivered message: err = %v, want ENOTFOUND", err)
			}
		})
	}
}

// TestAlertmanagerRepost: firing alerts are posted to Alertmanager again
// every RepostInterval, well within its resolve timeout, with the startsAt
// they had at first.
func TestAlertmanagerRepost(t *testing.T) {
	h := newHarness(t, harnessOptions{
		sink: &alerting.SinkConfig{Name: "am", Type: alerting.SinkAlertmanager},
		opts: alerting.DispatcherOptions{RepostInterval: time.Minute},
	})
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
	h.advance(10*time.Second + 3*time.Minute + 5*time.Second)
	reqs := h.recv.requests()
	if len(reqs) != 4 {
		t.Fatalf("Alertmanager got %d posts in 3m15s, want the first and 3 re-posts a minute apart", len(reqs))
	}
	var starts time.Time
	keys := map[string]bool{}
	for i, r := range reqs {
		var alerts []alerting.PostableAlert
		if err := json.Unmarshal(r.body, &alerts); err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 1 || !alerts[0].EndsAt.IsZero() && !alerts[0].EndsAt.After(r.at) {
			t.Fatalf("post %d = %+v, want one firing alert", i, alerts)
		}
		if i == 0 {
			starts = alerts[0].StartsAt
		} else if !alerts[0].StartsAt.Equal(starts) {
			t.Errorf("post %d has startsAt %s, want the first post's %s", i, alerts[0].StartsAt, starts)
		}
		if i > 0 && r.at.Sub(reqs[i-1].at) > 5*time.Minute-time.Second {
			t.Errorf("post %d came %s after the previous one: Alertmanager would have resolved it", i, r.at.Sub(reqs[i-1].at))
		}
		keys[r.key] = true
	}
	if len(keys) != len(reqs) {
		t.Errorf("re-posts share idempotency keys (%d keys for %d posts): a deduplicating proxy would drop them", len(keys), len(reqs))
	}
}

// TestRateLimit: a sink's token bucket spaces its deliveries.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{sink: &alerting.SinkConfig{Name: "hook", Type: alerting.SinkWebhook,
		RateLimit: &alerting.RateLimit{PerMinute: 6, Burst: 1}}})
	for _, c := range []string{"c1", "c2", "c3"} {
		f := finding("MER-1", "api-"+c, "aws-eu")
		f.LastCommit = c
		h.append(findingEvent(meridian.EventFindingOpened, f))
	}
	h.advance(time.Minute)
	reqs := h.recv.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (one per commit)", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].at.Sub(reqs[i-1].at); gap < 10*time.Second {
			t.Errorf("request %d came %s after the previous one, want at least 10s at 6 a minute", i, gap)
		}
	}
	if attempts := deliveryAttempts(t, h); attempts != 0 {
		t.Errorf("rate-limited waits counted %d failed attempts, want none", attempts)
	}
}

func deliveryAttempts(t *testing.T, h *harness) int {
	t.Helper()
	ds, err := h.db.ListDeliveries(h.ctx, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		n += d.Attempts
	}
	return n
}

// TestDispatchStats: the outbox depth and undelivered age show work not
// yet done, and drop to nothing once it is.
func TestDispatchStats(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-1", "api", "aws-eu")))
	h.clock.Advance(3 * time.Second)
	st, err := h.d.Stats(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OutboxDepth != 1 || h.clock.Now().Sub(st.OldestUndelivered) != 3*time.Second {
		t.Errorf("stats before dispatch = %+v, want depth 1 and the event 3s old", st)
	}
	h.advance(time.Minute)
	st, err = h.d.Stats(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OutboxDepth != 0 || !st.OldestUndelivered.IsZero() {
		t.Errorf("stats after dispatch = %+v, want nothing pending", st)
	}
	var firing int
	for _, c := range st.Alerts {
		if c.State == meridian.AlertFiring && c.Sink == "hook" {
			firing += c.N
		}
	}
	if firing != 1 {
		t.Errorf("alert counts = %+v, want 1 firing at sink hook", st.Alerts)
	}
}

// TestDispatchOutboxBatches: one Step works through a backlog larger than
// its batch, in event order.
func TestDispatchOutboxBatches(t *testing.T) {
	h := newHarness(t, harnessOptions{opts: alerting.DispatcherOptions{Batch: 2}})
	for _, rule := range []string{"MER-1", "MER-2", "MER-3", "MER-4", "MER-5"} {
		h.append(findingEvent(meridian.EventFindingOpened, finding(rule, "api", "aws-eu")))
	}
	h.step()
	st, err := h.d.Stats(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OutboxDepth != 0 {
		t.Errorf("outbox depth after one step = %d, want 0", st.OutboxDepth)
	}
	if n := len(h.alerts(meridian.AlertFiring)); n != 5 {
		t.Errorf("%d firing alerts, want 5", n)
	}
}
