package controlplane_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
)

// fakeDispatcher records the configs it is given.
type fakeDispatcher struct {
	mu   sync.Mutex
	cfgs []*alerting.Config
	snd  []map[string]alerting.Sender
}

func (d *fakeDispatcher) SetConfig(cfg *alerting.Config, senders map[string]alerting.Sender) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfgs, d.snd = append(d.cfgs, cfg), append(d.snd, senders)
}

func (d *fakeDispatcher) calls() ([]*alerting.Config, []map[string]alerting.Sender) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*alerting.Config(nil), d.cfgs...), append([]map[string]alerting.Sender(nil), d.snd...)
}

// fakeSecrets is an environment of its own.
type fakeSecrets map[string]string

func (s fakeSecrets) Getenv(name string) string { return s[name] }
func (s fakeSecrets) ReadFile(name string) ([]byte, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// recordingSender keeps what it is sent, failing with err when set.
type recordingSender struct {
	msgs []alerting.Message
	err  error
}

func (s *recordingSender) Send(_ context.Context, m alerting.Message) error {
	s.msgs = append(s.msgs, m)
	return s.err
}

var testNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

const alertingOK = `apiVersion: meridian/v1
kind: Alerting
sinks:
  - name: am
    type: alertmanager
    url: http://127.0.0.1:9093
routes:
  - sinks: [am]
`

// TestAlertingConfigFromTrackedBranch walks alerting.yaml through commits
// of the tracked branch: a good file configures the dispatcher, a broken
// one (a bad field, a missing secret) keeps the previous config and says
// where it is wrong in the status, a fix clears that, a removed file turns
// alerting off, and a pull request's head never configures anything.
func TestAlertingConfigFromTrackedBranch(t *testing.T) {
	d := &fakeDispatcher{}
	loader := controlplane.NewAlertingLoader(d, controlplane.AlertingLoaderOptions{Secrets: fakeSecrets{"SLACK_URL": "https://hooks.example.com/x"}})
	h := newHarness(t, controlplanetest.HarnessOptions{Recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9, Alerting: loader}})
	cfg := config(nil, workload("api", "alice", 2))
	commit := func(sha, alertingYAML string) {
		t.Helper()
		files := fstest.MapFS{"meridian.yaml": {Data: []byte("kind: Settings\n")}}
		if alertingYAML != "" {
			files["alerting.yaml"] = &fstest.MapFile{Data: []byte(alertingYAML)}
		}
		snap := snapshot(sha, cfg)
		snap.FS = files
		h.Loader.Set("master", snap)
		if err := h.Recon.Sync(context.Background()); err != nil {
			t.Fatalf("sync %s: %v", sha, err)
		}
	}

	steps := []struct {
		reason     string
		sha, yaml  string
		wantCalls  int
		wantCommit string
		wantErr    []string
	}{
		{"a good file configures the dispatcher", "c1", alertingOK, 1, "c1", nil},
		{"the same file at the next commit changes nothing", "c2", alertingOK, 1, "c2", nil},
		{"an unknown sink type keeps the previous config and names file, line and field", "c3",
			strings.Replace(alertingOK, "type: alertmanager", "type: pager", 1), 1, "c2", []string{"alerting.yaml:5", "sinks.0.type"}},
		{"an unknown field is refused at its line", "c4",
			alertingOK + "sinks_extra: no\n", 1, "c2", []string{"alerting.yaml:9", "sinks_extra"}},
		{"a Slack sink whose env var is unset is refused at its line", "c5",
			strings.Replace(alertingOK, "routes:", "  - name: chat\n    type: slack\n    url_env: CHAT_URL\nroutes:", 1), 1, "c2",
			[]string{"alerting.yaml:7", "sinks.1", "CHAT_URL"}},
		{"a fix with a second sink configures it and clears the error", "c6",
			strings.Replace(alertingOK, "routes:", "  - name: chat\n    type: slack\n    url_env: SLACK_URL\nroutes:", 1), 2, "c6", nil},
		{"no alerting.yaml turns alerting off", "c7", "", 3, "", nil},
	}
	for _, s := range steps {
		commit(s.sha, s.yaml)
		cfgs, _ := d.calls()
		st := h.Recon.State().Alerting
		if len(cfgs) != s.wantCalls || st.Commit != s.wantCommit {
			t.Fatalf("%s: %d SetConfig calls, in force %q; want %d, %q (state %+v)", s.reason, len(cfgs), st.Commit, s.wantCalls, s.wantCommit, st)
		}
		if (st.Error == "") != (len(s.wantErr) == 0) {
			t.Fatalf("%s: status error %q, want one with %q", s.reason, st.Error, s.wantErr)
		}
		for _, w := range s.wantErr {
			if !strings.Contains(st.Error, w) {
				t.Errorf("%s: status error %q lacks %q", s.reason, st.Error, w)
			}
		}
	}
	cfgs, snd := d.calls()
	if cfgs[1] == nil || len(cfgs[1].Sinks) != 2 || len(snd[1]) != 2 || cfgs[2] != nil {
		t.Errorf("configs handed on: %+v, senders %v", cfgs, snd)
	}

	// A pull request whose head carries its own alerting.yaml is planned
	// and reviewed, but where alerts go is the tracked branch's business.
	head := snapshot("h1", cfg)
	head.FS = fstest.MapFS{"alerting.yaml": {Data: []byte(alertingOK)}}
	h.Loader.Set("h1", head)
	h.Loader.Set("c7", snapshot("c7", cfg))
	if _, err := h.Recon.ReviewPR(context.Background(), prEvent(1, "h1", "c7")); err != nil {
		t.Fatal(err)
	}
	if cfgs, _ := d.calls(); len(cfgs) != 3 {
		t.Errorf("a pull request's head configured alerting: %d SetConfig calls", len(cfgs))
	}
}

// TestSendTest: a test message goes to the named sink of the config in
// force; an unknown sink, or no config, is a clear error.
func TestSendTest(t *testing.T) {
	d := &fakeDispatcher{}
	l := controlplane.NewAlertingLoader(d, controlplane.AlertingLoaderOptions{})
	if _, err := l.SendTest(context.Background(), "am"); err == nil || !strings.Contains(err.Error(), "alerting is off") {
		t.Errorf("test without a config: %v", err)
	}
	if err := l.Configure(context.Background(), "c1", []byte(alertingOK)); err != nil {
		t.Fatal(err)
	}
	got := &recordingSender{}
	if _, err := controlplane.SendTest(context.Background(), map[string]alerting.Sender{"am": got}, "am", testNow); err != nil {
		t.Fatal(err)
	}
	if len(got.msgs) != 1 || !got.msgs[0].Test || got.msgs[0].Sink != "am" || got.msgs[0].Key == "" {
		t.Errorf("sent: %+v", got.msgs)
	}
	if _, err := l.SendTest(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), `no sink "nope"`) {
		t.Errorf("unknown sink: %v", err)
	}
	failing := &recordingSender{err: errors.New("connection refused")}
	if _, err := controlplane.SendTest(context.Background(), map[string]alerting.Sender{"am": failing}, "am", testNow); err == nil ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Errorf("failed send: %v", err)
	}
}

// fakeLocks is a LockLister whose locks a test sets.
type fakeLocks struct {
	mu    sync.Mutex
	locks []store.Lock
}

func (f *fakeLocks) set(ls ...store.Lock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locks = ls
}

func (f *fakeLocks) ListLocks(context.Context, string) ([]store.Lock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Lock(nil), f.locks...), nil
}

// TestLockAgeWatch: the loop checks lock ages on its own schedule; a lock
// held past LockAge opens a lock condition, and its release clears it.
func TestLockAgeWatch(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	if err := db.EnsureRepo(context.Background(), store.Repo{ID: controlplanetest.RepoID, Source: controlplanetest.Source}); err != nil {
		t.Fatal(err)
	}
	locks := &fakeLocks{}
	locks.set(store.Lock{Key: store.LockKey{RepoID: controlplanetest.RepoID, Target: "aws-a"}, Token: 3, Owner: store.Owner{Actor: "apply:bob"},
		AcquiredAt: time.Now().Add(-2 * time.Hour)})
	h := newHarness(t, controlplanetest.HarnessOptions{Recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9,
		Recorder: controlplane.NewRecorder(db, controlplane.RecorderOptions{}), Locks: locks, LockAge: time.Hour, LockCheckInterval: 10 * time.Millisecond}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	open := func() []meridian.ConditionRecord {
		cs, err := db.OpenConditions(context.Background(), controlplanetest.RepoID)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	controlplanetest.WaitFor(t, "the lock condition", func() bool { return len(open()) == 1 })
	if c := open()[0]; c.Source != meridian.AlertSourceLock || c.Target != "aws-a" || !strings.Contains(c.Summary, "apply:bob") {
		t.Errorf("lock condition: %+v", c)
	}
	locks.set()
	controlplanetest.WaitFor(t, "the lock condition to clear", func() bool { return len(open()) == 0 })
}
