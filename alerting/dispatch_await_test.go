package alerting_test

import (
	"context"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
)

// TestDispatcherAwaitsConfig starts a dispatcher that has not read
// alerting.yaml yet, as a replica that just became the leader has not:
// it must leave the outbox alone (not record alerts for no sink) until its
// config arrives, and then notify the sink.
func TestDispatcherAwaitsConfig(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	d := alerting.NewDispatcher(h.db, alerting.DispatcherOptions{Now: h.clock.Now, Tick: 5 * time.Millisecond, AwaitConfig: true,
		Jitter: func(d time.Duration) time.Duration { return d }})
	h.append(findingEvent(meridian.EventFindingOpened, finding("MER-TAG-001", "api", "aws-eu")))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// Forty ticks without a config.
	time.Sleep(200 * time.Millisecond)
	if pending, err := h.db.PendingOutbox(h.ctx, 10); err != nil || len(pending) != 1 {
		t.Fatalf("before its config the dispatcher took the outbox: %d rows left, %v", len(pending), err)
	}
	d.SetConfig(testConfig(alerting.SinkConfig{Name: "hook", Type: alerting.SinkWebhook, URL: h.recv.srv.URL}),
		map[string]alerting.Sender{"hook": alerting.NewWebhook("hook", h.recv.srv.URL, []byte("test-secret"), alerting.SenderOptions{Now: h.clock.Now})})
	deadline := time.Now().Add(10 * time.Second)
	for {
		as, err := d.ListAlerts(h.ctx, store.AlertFilter{State: meridian.AlertFiring})
		if err == nil && len(as) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no firing alert after the config arrived: %v, %v", as, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The group waits GroupWait on the dispatcher's clock; then the sink
	// gets the alert.
	h.clock.Advance(time.Minute)
	d.Notify(0)
	for len(h.recv.delivered(t)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the sink got %d messages, want 1", len(h.recv.delivered(t)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
