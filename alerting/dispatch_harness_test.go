package alerting_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/storetest"
)

// receiver is a webhook or Alertmanager endpoint that records every
// request with the fake clock's time, and counts distinct idempotency
// keys, as a deduplicating receiver would.
type receiver struct {
	srv *httptest.Server
	now func() time.Time
	mu  sync.Mutex
	// status, when set, answers request n (from 0) with its code.
	status func(n int) int
	got    []request
	// block, when set, is closed by the receiver after it recorded a
	// request and waits before it answers.
	hold chan struct{}
}

type request struct {
	key  string
	at   time.Time
	code int
	body []byte
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	t.Helper()
	r := &receiver{now: now}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		code := http.StatusOK
		if r.status != nil {
			code = r.status(len(r.got))
		}
		r.got = append(r.got, request{key: req.Header.Get(alerting.HeaderIdempotency), at: r.now(), code: code, body: body})
		hold := r.hold
		r.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// delivered returns the webhook bodies accepted (2xx), once per
// idempotency key: what a deduplicating receiver processes.
func (r *receiver) delivered(t *testing.T) []alerting.WebhookBody {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []alerting.WebhookBody
	for _, q := range r.got {
		if q.code/100 != 2 || seen[q.key] {
			continue
		}
		seen[q.key] = true
		var b alerting.WebhookBody
		if err := json.Unmarshal(q.body, &b); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		out = append(out, b)
	}
	return out
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

// harness is a Dispatcher on a real SQLite store with a fake clock.
type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *storetest.Clock
	db    *sqlite.DB
	d     *alerting.Dispatcher
	recv  *receiver
}

// route is the test route: every alert to the webhook sink "hook",
// grouped by commit.
func testConfig(sinks ...alerting.SinkConfig) *alerting.Config {
	names := []string{}
	for _, s := range sinks {
		names = append(names, s.Name)
	}
	return &alerting.Config{
		Sinks: sinks,
		Routes: []alerting.Route{{ID: "routes.0", Sinks: names, GroupBy: []string{alerting.GroupCommit},
			GroupWait: 10 * time.Second, GroupInterval: time.Minute, RepeatInterval: time.Hour}},
	}
}

type harnessOptions struct {
	path string
	opts alerting.DispatcherOptions
	// sink overrides the webhook sink config (rate limits, type).
	sink *alerting.SinkConfig
	cfg  func(*alerting.Config)
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: storetest.NewClock()}
	if o.path == "" {
		o.path = filepath.Join(t.TempDir(), "meridian.db")
	}
	db, err := sqlite.Open(h.ctx, o.path, sqlite.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.recv = newReceiver(t, h.clock.Now)
	o.opts.Now = h.clock.Now
	if o.opts.Jitter == nil {
		o.opts.Jitter = func(d time.Duration) time.Duration { return d }
	}
	h.d = alerting.NewDispatcher(db, o.opts)
	sink := alerting.SinkConfig{Name: "hook", Type: alerting.SinkWebhook, URL: h.recv.srv.URL}
	if o.sink != nil {
		sink = *o.sink
		sink.URL = h.recv.srv.URL
	}
	cfg := testConfig(sink)
	if o.cfg != nil {
		o.cfg(cfg)
	}
	var sender alerting.Sender
	sopts := alerting.SenderOptions{Now: h.clock.Now, Timeout: 5 * time.Second}
	if sink.Type == alerting.SinkAlertmanager {
		sender = alerting.NewAlertmanager(sink.Name, sink.URL, sopts)
	} else {
		sender = alerting.NewWebhook(sink.Name, sink.URL, []byte("test-secret"), sopts)
	}
	h.d.SetConfig(cfg, map[string]alerting.Sender{sink.Name: sender})
	return h
}

func (h *harness) step() {
	h.t.Helper()
	if err := h.d.Step(h.ctx); err != nil {
		h.t.Fatalf("step: %v", err)
	}
}

// advance moves the clock in steps of at most 1 s, stepping the
// dispatcher after each, so that what falls due in between is done at its
// time.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	for d > 0 {
		s := min(d, time.Second)
		h.clock.Advance(s)
		d -= s
		h.step()
	}
}

func (h *harness) append(evs ...meridian.Event) {
	h.t.Helper()
	if _, err := h.db.AppendEvents(h.ctx, evs); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) alerts(state meridian.AlertState) []meridian.Alert {
	h.t.Helper()
	as, err := h.d.ListAlerts(h.ctx, store.AlertFilter{State: state})
	if err != nil {
		h.t.Fatal(err)
	}
	return as
}

// finding is a finding record of repo r1 on main.
func finding(rule, workload, target string) meridian.FindingRecord {
	f := meridian.Finding{Rule: rule, Workload: workload, Target: target}
	return meridian.FindingRecord{RepoID: "r1", Branch: "main", Fingerprint: meridian.Fingerprint(f), Rule: rule,
		Severity: meridian.SeverityDeny, Workload: workload, Target: target, Team: "payments", Message: rule + " on " + workload,
		State: meridian.FindingOpen, LastCommit: "c1"}
}

func findingEvent(typ meridian.EventType, r meridian.FindingRecord) meridian.Event {
	b, _ := json.Marshal(r)
	return meridian.Event{Type: typ, RepoID: r.RepoID, Branch: r.Branch, Commit: r.LastCommit, Workload: r.Workload,
		Target: r.Target, Fingerprint: r.Fingerprint, Payload: b}
}

// summary is what a test compares of a delivered message: each alert's
// name, target and state, and whether it is a repeat.
type summary struct {
	Repeat bool
	Alerts []string
}

func summarize(bodies []alerting.WebhookBody) []summary {
	var out []summary
	for _, b := range bodies {
		s := summary{Repeat: b.Repeat}
		for _, a := range b.Alerts {
			s.Alerts = append(s.Alerts, a.Name+"@"+a.Target+":"+string(a.State))
		}
		out = append(out, s)
	}
	return out
}

// sortAlerts compares a message's alerts whatever their order.
var sortAlerts = cmpopts.SortSlices(func(a, b string) bool { return a < b })
