package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/gittest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

const e2eSecret = "e2e webhook secret"

// ghRecorder stands in for api.github.com, which the test machines cannot
// reach: it records each REST call and answers with the example bodies of
// GitHub's API description (github/testdata/rest).
type ghRecorder struct {
	mu    sync.Mutex
	calls []ghCall
}

type ghCall struct {
	Method, Path string
	Body         map[string]any
}

func (g *ghRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := ghCall{Method: r.Method, Path: r.URL.RequestURI()}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		_ = json.Unmarshal(b, &c.Body)
	}
	g.mu.Lock()
	g.calls = append(g.calls, c)
	n := len(g.calls)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet:
		w.Write([]byte("[]"))
	case strings.Contains(r.URL.Path, "/statuses/"):
		w.WriteHeader(http.StatusCreated)
		w.Write(mustRead(filepath.Join("..", "..", "github", "testdata", "rest", "commit-status.response.json")))
	default:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id": %d, "body": "", "html_url": "https://github.com/x"}`, 500+n)
	}
}

func (g *ghRecorder) snapshot() []ghCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ghCall(nil), g.calls...)
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// git runs git in dir and returns its trimmed output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// exampleRepo is a Git repository holding a copy of examples/hybrid on
// branch main.
func exampleRepo(t testing.TB) string {
	t.Helper()
	return exampleRepoNamed(t, "hybrid")
}

// exampleRepoNamed is a Git repository holding a copy of examples/NAME on
// branch main.
func exampleRepoNamed(t testing.TB, name string) string {
	t.Helper()
	gittest.CLI(t)
	dir := copyExampleNamed(t, name)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "example")
	return dir
}

// editFile rewrites a file of the repo with replace applied.
func editFile(t testing.TB, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signedPayload takes a recorded webhook payload, changes fields (dotted
// paths) and returns the new bytes.
func signedPayload(t testing.TB, name string, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustRead(filepath.Join("..", "..", "github", "testdata", "webhooks", name)), &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		parts := strings.Split(path, ".")
		obj := m
		for _, p := range parts[:len(parts)-1] {
			obj = obj[p].(map[string]any)
		}
		obj[parts[len(parts)-1]] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// client talks to a running server.
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func (c *client) do(method, path string, body, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(data, out) != nil {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

func (c *client) webhook(event, id string, body []byte) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set(github.HeaderEvent, event)
	req.Header.Set(github.HeaderDelivery, id)
	req.Header.Set(github.HeaderSignature, github.Sign([]byte(e2eSecret), body))
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitUntil(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *client) waitDelivery(db interface {
	GetDelivery(context.Context, string) (store.Delivery, error)
}, id string) store.Delivery {
	c.t.Helper()
	var d store.Delivery
	waitUntil(c.t, "delivery "+id, func() bool {
		var err error
		d, err = db.GetDelivery(context.Background(), id)
		return err == nil && d.Status != store.DeliveryReceived
	})
	return d
}

// bootServer starts the whole server in-process on a copy of the example.
func bootServer(t testing.TB, repo, state string, mod func(*ServeConfig)) (*Main, *ghRecorder) {
	t.Helper()
	gh := &ghRecorder{}
	ghSrv := httptest.NewServer(gh)
	t.Cleanup(ghSrv.Close)
	m := NewMain()
	m.Config.Repo, m.Config.Addr, m.Config.StateDir = repo, "127.0.0.1:0", state
	m.Config.CacheDir = filepath.Join(state, "cache")
	m.Config.Interval = time.Hour // pushes arrive by webhook
	m.Config.WebhookSecret = []byte(e2eSecret)
	m.Config.GitHubToken, m.Config.GitHubAPIURL = "ghp_e2e", ghSrv.URL
	m.Config.GitHubRepo = "Codertocat/Hello-World"
	m.Config.Actor = "serve:e2e"
	if mod != nil {
		mod(&m.Config)
	}
	if testing.Verbose() {
		m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m, gh
}

// TestServeEndToEnd boots the whole server as `meridian serve` runs it, on
// a Git copy of examples/hybrid, with real Terraform, and walks the issue's
// story: a push is planned, a pull request gets one comment and a status
// (on a fake GitHub), the plan is applied, and the audit log tells it all.
func TestServeEndToEnd(t *testing.T) {
	bin := terraformtest.Binary(t)
	repo, state := exampleRepo(t), t.TempDir()
	m, gh := bootServer(t, repo, state, func(c *ServeConfig) { c.TerraformBin = bin })
	r := runCLI(t, "token", "create", "--role", "operator", "--name", "ci", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("token create: %d %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	c := &client{t: t, base: "http://" + m.Addr(), token: lines[len(lines)-1], http: &http.Client{Timeout: 5 * time.Minute}}

	var status struct {
		Branch struct {
			Commit string
			PlanID string `json:"plan_id"`
		}
	}
	waitUntil(t, "the startup plan", func() bool { c.do("GET", "/api/v1/status", nil, &status); return status.Branch.PlanID != "" })

	// 1. Push a commit (more replicas for one workload).
	editFile(t, repo, "workloads/docs-site.yaml", "min: 1", "min: 2")
	git(t, repo, "commit", "-qam", "scale docs-site")
	pushed := git(t, repo, "rev-parse", "HEAD")
	push := signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main", "after": pushed,
		"repository.full_name": "Codertocat/Hello-World"})
	if code := c.webhook("push", "e2e-push-1", push); code != http.StatusAccepted {
		t.Fatalf("push delivery: %d", code)
	}
	// 2. See it planned.
	if d := c.waitDelivery(m.Store(), "e2e-push-1"); d.Status != store.DeliveryProcessed {
		t.Fatalf("push delivery %+v", d)
	}
	c.do("GET", "/api/v1/status", nil, &status)
	if status.Branch.Commit != pushed {
		t.Fatalf("head %s planned, want the pushed %s", status.Branch.Commit, pushed)
	}
	var plan struct {
		ID, Commit, Ref  string
		Blocking         bool
		TerraformTargets []struct{ Target string } `json:"terraform_targets"`
	}
	if code := c.do("GET", "/api/v1/plans/"+status.Branch.PlanID, nil, &plan); code != 200 || plan.Commit != pushed || plan.Ref != "refs/heads/main" || len(plan.TerraformTargets) == 0 {
		t.Fatalf("plan of the push: %d %+v", code, plan)
	}

	// 3. A pull request: a new workload without an owner (a deny finding).
	git(t, repo, "checkout", "-q", "-b", "feature")
	if err := os.WriteFile(filepath.Join(repo, "workloads", "new-svc.yaml"), []byte(`apiVersion: meridian/v1
kind: Workload
name: new-svc
tags:
  cost-center: CC-1001
  env: prod
replicas: {min: 1, max: 2}
per_replica: {vcpu: 1, memory_gib: 2, capacity: 10}
requires: {encryption: provider-managed, log_retention_days: 30}
storage_gb: 5
egress_gb_month: 10
`), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "add new-svc")
	head := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "main")
	pr := signedPayload(t, "pull_request.opened.payload.json", map[string]any{
		"pull_request.head.sha": head, "pull_request.head.ref": "feature",
		"pull_request.base.sha": pushed, "pull_request.base.ref": "main"})
	if code := c.webhook("pull_request", "e2e-pr-1", pr); code != http.StatusAccepted {
		t.Fatalf("PR delivery: %d", code)
	}
	if d := c.waitDelivery(m.Store(), "e2e-pr-1"); d.Status != store.DeliveryProcessed {
		t.Fatalf("PR delivery %+v", d)
	}
	// 4. The right comment and status.
	calls := gh.snapshot()
	var got []string
	for _, cl := range calls {
		got = append(got, cl.Method+" "+cl.Path)
	}
	want := []string{"GET /repos/Codertocat/Hello-World/issues/2/comments?per_page=100&page=1",
		"POST /repos/Codertocat/Hello-World/issues/2/comments", "POST /repos/Codertocat/Hello-World/statuses/" + head}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("GitHub calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	body := calls[1].Body["body"].(string)
	for _, s := range []string{"<!-- meridian:pr-report", "**Monthly cost:**", "| `new-svc` | – → ", "MER-TAG-001",
		"https://github.com/Codertocat/Hello-World/blob/" + head + "/workloads/new-svc.yaml#L", "❌ **Blocked:**"} {
		if !strings.Contains(body, s) {
			t.Errorf("comment lacks %q:\n%s", s, body)
		}
	}
	if len(body) > 65536 {
		t.Errorf("comment is %d bytes", len(body))
	}
	if st := calls[2].Body; st["state"] != "failure" || st["context"] != "meridian/plan" {
		t.Errorf("status %v, want failure", st)
	}

	// 5. Apply the branch's plan.
	var applied struct {
		RunID  string `json:"run_id"`
		Status string
	}
	if code := c.do("POST", "/api/v1/plans/"+status.Branch.PlanID+"/apply", nil, &applied); code != 200 || applied.Status != "succeeded" {
		t.Fatalf("apply: %d %+v", code, applied)
	}
	var run struct{ Status, Actor string }
	if c.do("GET", "/api/v1/runs/"+applied.RunID, nil, &run); run.Status != "succeeded" || run.Actor != "api:ci" {
		t.Errorf("apply run %+v", run)
	}

	// 6. The audit log tells the story.
	var audit struct {
		Items []struct{ Actor, Action, PlanID string }
	}
	c.do("GET", "/api/v1/audit?page_size=500", nil, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Items {
		seen[e.Action] = true
	}
	for _, a := range []string{"token.create", "plan.saved", "pr.reported", "apply.requested", "apply.start", "apply.deploy", "apply.finish"} {
		if !seen[a] {
			t.Errorf("audit log lacks %s: %+v", a, audit.Items)
		}
	}
	// The ledger now holds the apply: the PR's "before" would be it.
	es, err := m.Store().LedgerEntries(context.Background(), store.RepoID(repo))
	if err != nil || len(es) == 0 {
		t.Errorf("ledger after the apply: %d entries, %v", len(es), err)
	}
	// The server's apply also committed the deploy tree, as `meridian apply` does.
	refs, err := exec.Command("git", "-C", deploy.LocalRepoDir(state), "for-each-ref", "refs/heads").Output()
	if err != nil || len(refs) == 0 {
		t.Errorf("the server's apply committed nothing to the deploy repo: %q, %v", refs, err)
	}
}

// TestServeShutdownReleases boots and stops the server, and checks that the
// store is closed (reopening works and no lock is left).
func TestServeShutdown(t *testing.T) {
	repo, state := exampleRepo(t), t.TempDir()
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform = true })
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })
	addr := m.Addr()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Errorf("still serving after Close")
	}
	r := runCLI(t, "token", "list", "--state-dir", state)
	if r.code != 0 {
		t.Errorf("store unusable after Close: %s", r.stderr)
	}
}

func TestServeFlags(t *testing.T) {
	r := runCLI(t, "serve")
	if r.code != exitError || !strings.Contains(r.stderr, "repo") {
		t.Errorf("serve without --repo: %d %s", r.code, r.stderr)
	}
	r = runCLI(t, "token", "create", "--role", "king", "--name", "x", "--state-dir", t.TempDir())
	if r.code != exitError || !strings.Contains(r.stderr, "role must be viewer, operator or admin") {
		t.Errorf("bad role: %d %s", r.code, r.stderr)
	}
}

// TestPREnviron: pull-request Terraform runs get no cloud credentials of
// the server's environment, only what the operator gave them.
func TestPREnviron(t *testing.T) {
	parent := []string{"PATH=/bin", "HOME=/root", "AWS_SECRET_ACCESS_KEY=s", "AWS_ACCESS_KEY_ID=k", "ARM_CLIENT_SECRET=x",
		"GOOGLE_APPLICATION_CREDENTIALS=/c.json", "TF_TOKEN_app_terraform_io=t", "GITHUB_TOKEN=g", "MERIDIAN_WEBHOOK_SECRET=w", "HTTPS_PROXY=p"}
	got := prEnviron(parent, []string{"AWS_PROFILE=readonly"}, "/scratch/home")
	want := []string{"HOME=/scratch/home", "PATH=/bin", "HTTPS_PROXY=p", "AWS_PROFILE=readonly"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("prEnviron = %v, want %v", got, want)
	}
}
