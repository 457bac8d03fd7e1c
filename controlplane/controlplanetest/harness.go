package controlplanetest

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
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
)

const (
	// Source is the config repo a Harness watches.
	Source = "/repos/config"
	// GitHubToken is the token the harness's GitHub client sends and its
	// fake GitHub expects.
	GitHubToken = "ghp_fakeGitHubToken1234567890"
	// restTestdata holds GitHub's recorded REST answers. It is relative to
	// the tests' working directory: a package one level below the module
	// root (controlplane, web).
	restTestdata = "../github/testdata/rest/"
)

// RepoID is Source's ID in the store.
var RepoID = store.RepoID(Source)

// Workload returns a workload with an owner tag (unless owner is "").
func Workload(name, owner string, replicas int) meridian.Workload {
	w := meridian.Workload{Name: name, Tags: map[string]string{"env": "prod", "team": "team-" + name}, Replicas: meridian.ReplicaRange{Min: replicas, Max: replicas + 2},
		Origin: meridian.Origin{File: "workloads/" + name + ".yaml", Line: 3}}
	if owner != "" {
		w.Tags["owner"] = owner
	}
	return w
}

// Config is a small config repo: two targets, the given workloads, the
// owner tag required, and policies (path -> source).
func Config(policies map[string]string, ws ...meridian.Workload) *meridian.Config {
	s := meridian.DefaultSettings()
	s.RequiredTags = []string{"owner"}
	if policies == nil {
		policies = map[string]string{}
	}
	return &meridian.Config{Settings: s, Policies: policies, Workloads: ws,
		Targets: []meridian.Target{{Name: "aws-a", Provider: meridian.ProviderAWS}, {Name: "onprem-b", Provider: meridian.ProviderOnPrem}}}
}

// Snapshot is cfg at commit of Source.
func Snapshot(commit string, cfg *meridian.Config) *controlplane.Snapshot {
	return &controlplane.Snapshot{Source: Source, Commit: commit, Config: cfg}
}

// ConfigErrors is the error of one bad field.
func ConfigErrors(file string, line int, field, msg string) error {
	return meridian.ConfigErrors{{File: file, Line: line, Field: field, Message: msg}}
}

// GitHubCall is one REST call the fake GitHub received.
type GitHubCall struct {
	Method, Path string
	Body         map[string]any
}

// GitHub stands in for api.github.com (which the test machines cannot
// reach): it records every REST call, checks the token, and answers with
// the bodies GitHub's API description gives (github/testdata/rest).
type GitHub struct {
	t     testing.TB
	mu    sync.Mutex
	calls []GitHubCall
	next  int64
}

// ServeHTTP records the call and answers it.
func (f *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+GitHubToken {
		f.t.Errorf("GitHub call %s %s with Authorization %q", r.Method, r.URL.Path, got)
	}
	c := GitHubCall{Method: r.Method, Path: r.URL.RequestURI()}
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
		w.Write(ReadFile(f.t, restTestdata+"commit-status.response.json"))
	case r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		var cm map[string]any
		json.Unmarshal(ReadFile(f.t, restTestdata+"issue-comment.response.json"), &cm)
		cm["id"], cm["body"] = 1000+id, c.Body["body"]
		json.NewEncoder(w).Encode(cm)
	case r.Method == http.MethodPatch:
		var cm map[string]any
		json.Unmarshal(ReadFile(f.t, restTestdata+"issue-comment.response.json"), &cm)
		parts := strings.Split(r.URL.Path, "/")
		cm["id"], cm["body"] = json.Number(parts[len(parts)-1]), c.Body["body"]
		json.NewEncoder(w).Encode(cm)
	}
}

// Calls returns the calls so far, oldest first.
func (f *GitHub) Calls() []GitHubCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]GitHubCall(nil), f.calls...)
}

// Methods lists the calls as "METHOD path", bodies left out.
func (f *GitHub) Methods() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// LogBuffer is a goroutine-safe log sink.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// HarnessOptions tunes a Harness. Zero values mean the defaults.
type HarnessOptions struct {
	// Recon are the reconciler's options. RepoID, Source, the GitHub
	// client, Logger and Metrics are always the harness's; Branch
	// defaults to "master" and the retry bounds to milliseconds.
	Recon controlplane.ReconcilerOptions
	// NoRun leaves the reconcile loop stopped.
	NoRun bool
	// Drift is the reconciler's drift checker.
	Drift controlplane.DriftChecker
	// Registry gets the loop's metrics (default: a new registry).
	Registry *prometheus.Registry
}

// Harness is a reconciler on in-memory collaborators, with a fake GitHub
// behind the real client.
type Harness struct {
	St       *Store
	Loader   *Loader
	Planner  *Planner
	Applier  *Applier
	GitHub   *GitHub
	Recon    *controlplane.Reconciler
	Registry *prometheus.Registry
	// Logs holds what Log wrote, as JSON lines.
	Logs *LogBuffer
	Log  *slog.Logger

	t      testing.TB
	noRun  bool
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// NewHarness builds a harness whose loop has not started: call Start
// once the test's other parts are wired up.
func NewHarness(t testing.TB, o HarnessOptions) *Harness {
	t.Helper()
	h := &Harness{t: t, noRun: o.NoRun, St: NewStore(nil), Loader: NewLoader(), GitHub: &GitHub{t: t}, Logs: &LogBuffer{}, Registry: o.Registry}
	if h.Registry == nil {
		h.Registry = prometheus.NewRegistry()
	}
	h.Planner = &Planner{St: h.St}
	h.Applier = &Applier{St: h.St, RepoID: RepoID}
	ghSrv := httptest.NewServer(h.GitHub)
	t.Cleanup(ghSrv.Close)
	client, err := github.NewClient(GitHubToken, github.ClientOptions{BaseURL: ghSrv.URL, HTTPClient: ghSrv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h.Log = slog.New(slog.NewJSONHandler(h.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ro := o.Recon
	ro.RepoID, ro.Source = RepoID, Source
	if ro.Branch == "" {
		ro.Branch = "master" // the recorded payloads' base branch
	}
	if ro.RetryMin == 0 {
		ro.RetryMin, ro.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	}
	ro.PR.GitHub, ro.Logger, ro.Metrics = client, h.Log, controlplane.NewMetrics(h.Registry)
	h.Recon = controlplane.NewReconciler(h.St, h.Loader, h.Planner, h.Applier, o.Drift, ro)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.done = make(chan struct{})
	return h
}

// Start runs the reconcile loop in the background (unless NoRun), and
// stops it when the test ends.
func (h *Harness) Start() {
	if h.noRun {
		close(h.done)
	} else {
		go func() {
			defer close(h.done)
			if err := h.Recon.Run(h.ctx); err != nil {
				h.t.Errorf("Run: %v", err)
			}
		}()
	}
	h.t.Cleanup(h.Stop)
}

// Stop stops the reconcile loop and waits for it. Call it after Start.
func (h *Harness) Stop() {
	h.cancel()
	<-h.done
}

// WaitFor polls ok until it holds, failing after a generous deadline. It
// bounds waiting for background work; it asserts nothing about speed.
func WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ReadFile returns the file's contents, failing t if it cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
