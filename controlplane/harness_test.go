package controlplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
)

const (
	testSource = "/repos/config"
	ghToken    = "ghp_fakeGitHubToken1234567890"
	// restTestdata holds GitHub's recorded REST answers.
	restTestdata = "../github/testdata/rest/"
)

var testRepoID = store.RepoID(testSource)

// workload returns a workload with an owner tag (unless owner is "").
func workload(name, owner string, replicas int) meridian.Workload {
	w := meridian.Workload{Name: name, Tags: map[string]string{"env": "prod", "team": "team-" + name}, Replicas: meridian.ReplicaRange{Min: replicas, Max: replicas + 2},
		Origin: meridian.Origin{File: "workloads/" + name + ".yaml", Line: 3}}
	if owner != "" {
		w.Tags["owner"] = owner
	}
	return w
}

// config is a small config repo: two targets, the given workloads, the
// owner tag required, and policies (path -> source).
func config(policies map[string]string, ws ...meridian.Workload) *meridian.Config {
	s := meridian.DefaultSettings()
	s.RequiredTags = []string{"owner"}
	if policies == nil {
		policies = map[string]string{}
	}
	return &meridian.Config{Settings: s, Policies: policies, Workloads: ws,
		Targets: []meridian.Target{{Name: "aws-a", Provider: meridian.ProviderAWS}, {Name: "onprem-b", Provider: meridian.ProviderOnPrem}}}
}

func snapshot(commit string, cfg *meridian.Config) *controlplane.Snapshot {
	return &controlplane.Snapshot{Source: testSource, Commit: commit, Config: cfg}
}

// ghCall is one REST call the fake GitHub received.
type ghCall struct {
	Method, Path string
	Body         map[string]any
}

// fakeGitHub stands in for api.github.com (which the test machines cannot
// reach): it records every REST call, checks the token, and answers with
// the bodies GitHub's API description gives (github/testdata/rest).
type fakeGitHub struct {
	t     *testing.T
	mu    sync.Mutex
	calls []ghCall
	next  int64
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+ghToken {
		f.t.Errorf("GitHub call %s %s with Authorization %q", r.Method, r.URL.Path, got)
	}
	c := ghCall{Method: r.Method, Path: r.URL.RequestURI()}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &c.Body); err != nil {
			f.t.Errorf("GitHub call body: %v", err)
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.next++
	id := f.next
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == http.MethodGet:
		w.Write([]byte(`[]`))
	case strings.Contains(r.URL.Path, "/statuses/"):
		w.WriteHeader(http.StatusCreated)
		w.Write(readFile(f.t, restTestdata+"commit-status.response.json"))
	case r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		var cm map[string]any
		json.Unmarshal(readFile(f.t, restTestdata+"issue-comment.response.json"), &cm)
		cm["id"], cm["body"] = 1000+id, c.Body["body"]
		json.NewEncoder(w).Encode(cm)
	case r.Method == http.MethodPatch:
		var cm map[string]any
		json.Unmarshal(readFile(f.t, restTestdata+"issue-comment.response.json"), &cm)
		parts := strings.Split(r.URL.Path, "/")
		cm["id"], cm["body"] = json.Number(parts[len(parts)-1]), c.Body["body"]
		json.NewEncoder(w).Encode(cm)
	}
}

func (f *fakeGitHub) Calls() []ghCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ghCall(nil), f.calls...)
}

// harness is a reconciler on in-memory collaborators, with a fake GitHub
// behind the real client.
type harness struct {
	t        *testing.T
	st       *controlplanetest.Store
	loader   *controlplanetest.Loader
	planner  *controlplanetest.Planner
	applier  *controlplanetest.Applier
	gh       *fakeGitHub
	recon    *controlplane.Reconciler
	registry *prometheus.Registry
	logs     *syncBuffer
	cancel   context.CancelFunc
	done     chan struct{}
}

type harnessOptions struct {
	recon controlplane.ReconcilerOptions
	// noRun leaves the reconcile loop stopped.
	noRun bool
	drift controlplane.DriftChecker
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, st: controlplanetest.NewStore(nil), loader: controlplanetest.NewLoader(), gh: &fakeGitHub{t: t}, logs: &syncBuffer{},
		registry: prometheus.NewRegistry()}
	h.planner = &controlplanetest.Planner{St: h.st}
	h.applier = &controlplanetest.Applier{St: h.st, RepoID: testRepoID}
	ghSrv := httptest.NewServer(h.gh)
	t.Cleanup(ghSrv.Close)
	client, err := github.NewClient(ghToken, github.ClientOptions{BaseURL: ghSrv.URL, HTTPClient: ghSrv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ro := o.recon
	ro.RepoID, ro.Source = testRepoID, testSource
	if ro.Branch == "" {
		ro.Branch = "master" // the recorded payloads' base branch
	}
	if ro.RetryMin == 0 {
		ro.RetryMin, ro.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	}
	ro.PR.GitHub, ro.Logger, ro.Metrics = client, log, controlplane.NewMetrics(h.registry)
	h.recon = controlplane.NewReconciler(h.st, h.loader, h.planner, h.applier, o.drift, ro)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	if o.noRun {
		close(h.done)
	} else {
		go func() {
			defer close(h.done)
			if err := h.recon.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

// waitFor polls ok until it holds, failing after a generous deadline. It
// bounds waiting for background work; it asserts nothing about speed.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func configErrors(file string, line int, field, msg string) error {
	return meridian.ConfigErrors{{File: file, Line: line, Field: field, Message: msg}}
}
