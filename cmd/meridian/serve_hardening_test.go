package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeWebhookSecretChecks: an empty --webhook-secret-file is an
// error (not a silently disabled endpoint), and a short secret is served
// with a warning that never prints it.
func TestServeWebhookSecretChecks(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "serve", "--repo", t.TempDir(), "--state-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--webhook-secret-file", empty)
	if r.code != exitError || !strings.Contains(r.stderr, "is empty") {
		t.Errorf("empty --webhook-secret-file: exit %d, stderr %q; want an error", r.code, r.stderr)
	}

	const short = "hunter2-but-longer"
	var logs bytes.Buffer
	m := NewMain()
	m.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	m.Config.Repo, m.Config.StateDir, m.Config.Addr, m.Config.NoTerraform = t.TempDir(), t.TempDir(), "127.0.0.1:0", true
	m.Config.WebhookSecret = []byte(short)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := m.http
	ln := fmt.Sprintf("%T", m.ln)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "webhook secret is short") || !strings.Contains(logs.String(), `"bytes":18`) {
		t.Errorf("no warning about an 18-byte secret:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), short) {
		t.Errorf("the log holds the webhook secret")
	}
	// Without these, one client can hold the server's connections and
	// memory without ever authenticating.
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("http.Server limits: ReadHeaderTimeout %v ReadTimeout %v WriteTimeout %v IdleTimeout %v MaxHeaderBytes %d",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	if !strings.Contains(ln, "netutil") {
		t.Errorf("listener %s has no connection cap", ln)
	}
}

// TestTokenExpiresIn: `meridian token create --expires-in` stores the
// expiry, and `token list` shows it.
func TestTokenExpiresIn(t *testing.T) {
	state := t.TempDir()
	r := runCLI(t, "token", "create", "--role", "viewer", "--name", "ci", "--expires-in", "720h", "--state-dir", state)
	if r.code != 0 || !strings.Contains(r.stdout, "expires 20") {
		t.Fatalf("create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "token", "create", "--role", "viewer", "--name", "forever", "--state-dir", state)
	if r.code != 0 || !strings.Contains(r.stdout, "never expires") {
		t.Fatalf("create without a lifetime: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "token", "list", "--state-dir", state)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "EXPIRES") || strings.Count(lines[1], "Z") != 2 || strings.Count(lines[2], "Z") != 1 {
		t.Errorf("token list does not show the expiry:\n%s", r.stdout)
	}
	r = runCLI(t, "token", "create", "--role", "viewer", "--name", "neg", "--expires-in", "-1h", "--state-dir", state)
	if r.code != exitError {
		t.Errorf("negative --expires-in: exit %d", r.code)
	}
}
