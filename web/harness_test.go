package web_test

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

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

const (
	testSource = "/repos/config"
	testSecret = "It's a Secret to Everybody"
	ghToken    = "ghp_fakeGitHubToken1234567890"
	baseSHA    = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e" // the recorded payloads' base
	headSHA    = "ec26c3e57ca3a959ca5aad62de7213c562f8c821" // the recorded payloads' head
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
		w.Write(readFile(f.t, "../github/testdata/rest/commit-status.response.json"))
	case r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		var cm map[string]any
		json.Unmarshal(readFile(f.t, "../github/testdata/rest/issue-comment.response.json"), &cm)
		cm["id"], cm["body"] = 1000+id, c.Body["body"]
		json.NewEncoder(w).Encode(cm)
	case r.Method == http.MethodPatch:
		var cm map[string]any
		json.Unmarshal(readFile(f.t, "../github/testdata/rest/issue-comment.response.json"), &cm)
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

// methods lists the calls as "METHOD path", bodies left out.
func (f *fakeGitHub) methods() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// harness is a whole server on in-memory collaborators.
type harness struct {
	t       *testing.T
	st      *controlplanetest.Store
	loader  *controlplanetest.Loader
	planner *controlplanetest.Planner
	applier *controlplanetest.Applier
	gh      *fakeGitHub
	recon   *controlplane.Reconciler
	srv     *web.Server
	metrics *web.Metrics
	http    *httptest.Server
	logs    *syncBuffer
	tokens  map[web.Role]string
	cancel  context.CancelFunc
	done    chan struct{}
}

type harnessOptions struct {
	server web.Options
	recon  controlplane.ReconcilerOptions
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
	h := &harness{t: t, st: controlplanetest.NewStore(nil), loader: controlplanetest.NewLoader(), gh: &fakeGitHub{t: t}, logs: &syncBuffer{}, tokens: map[web.Role]string{}}
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
	// One registry for the loop's metrics and the server's, as
	// cmd/meridian wires them.
	h.metrics = web.NewMetrics()
	ro.PR.GitHub, ro.Logger, ro.Metrics = client, log, controlplane.NewMetrics(h.metrics.Registry)
	h.recon = controlplane.NewReconciler(h.st, h.loader, h.planner, h.applier, o.drift, ro)
	so := o.server
	if so.WebhookSecret == nil {
		so.WebhookSecret = []byte(testSecret)
	}
	so.Logger, so.Metrics = log, h.metrics
	h.srv = web.NewServer(h.st, h.recon, so)
	h.http = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.http.Close)
	for _, r := range web.Roles {
		_, secret, err := web.IssueToken(context.Background(), h.st, web.TokenRequest{Name: "t-" + string(r), Role: r, CreatedBy: "test"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[r] = secret
	}
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

// do sends a request with the token of role ("" for none) and decodes a
// JSON answer into out (when not nil).
func (h *harness) do(method, path string, role web.Role, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.http.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+h.tokens[role])
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// webhook sends a signed delivery (sig "" signs with testSecret; "-" sends
// none).
func (h *harness) webhook(event, delivery string, body []byte, sig string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set(github.HeaderEvent, event)
	req.Header.Set(github.HeaderDelivery, delivery)
	req.Header.Set("Content-Type", "application/json")
	switch sig {
	case "":
		req.Header.Set(github.HeaderSignature, github.Sign([]byte(testSecret), body))
	case "-":
	default:
		req.Header.Set(github.HeaderSignature, sig)
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
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

func (h *harness) waitDelivery(id string) store.Delivery {
	h.t.Helper()
	var d store.Delivery
	waitFor(h.t, "delivery "+id, func() bool {
		var err error
		d, err = h.st.GetDelivery(context.Background(), id)
		return err == nil && d.Status != store.DeliveryReceived
	})
	return d
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
