package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// TestAlertsTestCommand: `meridian alerts test` sends one test message
// through the sink as alerting.yaml declares it, with the secret from the
// environment, and says clearly what is wrong otherwise.
func TestAlertsTestCommand(t *testing.T) {
	slack := &receiver{}
	srv := httptest.NewServer(slack)
	t.Cleanup(srv.Close)
	t.Setenv("CLI_SLACK_URL", srv.URL+"/hook")
	repo := copyExample(t)
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "alerting.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const good = "apiVersion: meridian/v1\nkind: Alerting\nsinks:\n  - name: chat\n    type: slack\n    url_env: CLI_SLACK_URL\n" +
		"  - name: other\n    type: slack\n    url_env: CLI_UNSET_URL\nroutes:\n  - sinks: [chat]\n"

	cases := []struct {
		name      string
		yaml      string // "" leaves the repo without alerting.yaml
		sink      string
		wantCode  int
		wantError []string
		wantSent  int
	}{
		{"no alerting.yaml", "", "chat", 1, []string{"no alerting.yaml"}, 0},
		{"a broken file names file, line and field", strings.Replace(good, "type: slack", "type: pager", 1), "chat", 1,
			[]string{"alerting.yaml:5", "sinks.0.type"}, 0},
		{"a sink whose secret is unset names it", good, "chat", 1, []string{"alerting.yaml:7", "CLI_UNSET_URL"}, 0},
	}
	for _, tc := range cases {
		if tc.yaml != "" {
			write(tc.yaml)
		}
		r := runCLI(t, "alerts", "test", "--sink", tc.sink, "--repo", repo)
		if r.code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, r.code, tc.wantCode, r.stderr)
		}
		for _, w := range tc.wantError {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, r.stderr, w)
			}
		}
	}
	// With every secret set, the named sink gets exactly one test message.
	t.Setenv("CLI_UNSET_URL", srv.URL+"/other")
	if r := runCLI(t, "alerts", "test", "--sink", "nope", "--repo", repo); r.code != 1 || !strings.Contains(r.stderr, `no sink "nope"`) {
		t.Errorf("unknown sink: %d %s", r.code, r.stderr)
	}
	r := runCLI(t, "alerts", "test", "--sink", "chat", "--repo", repo)
	if r.code != 0 || !strings.Contains(r.stdout, "Sent a test message to sink chat") {
		t.Fatalf("alerts test: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := slack.titles(); len(got) != 1 || !strings.HasPrefix(got[0], "[TEST] 1 firing") {
		t.Errorf("messages received: %q", got)
	}
}

// TestSilenceCommands: create, list and expire a silence on the store,
// refusing bad matchers with the flag named.
func TestSilenceCommands(t *testing.T) {
	state := t.TempDir()
	bad := map[string]struct {
		args []string
		want string
	}{
		"no LABEL=VALUE":  {[]string{"--match", "MER-TAG-001", "--duration", "2h", "--comment", "x"}, "--match"},
		"unknown label":   {[]string{"--match", "colour=red", "--duration", "2h", "--comment", "x"}, "unknown label colour"},
		"label twice":     {[]string{"--match", "name=a", "--match", "name=b", "--duration", "2h", "--comment", "x"}, "matched twice"},
		"no comment":      {[]string{"--match", "name=a", "--duration", "2h", "--comment", " "}, "--comment"},
		"too long":        {[]string{"--match", "name=a", "--duration", "10000h", "--comment", "x"}, "--duration"},
		"negative length": {[]string{"--match", "name=a", "--duration", "-1h", "--comment", "x"}, "--duration"},
	}
	for name, tc := range bad {
		r := runCLI(t, append([]string{"silence", "create", "--state-dir", state}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 saying %q", name, r.code, r.stderr, tc.want)
		}
	}
	r := runCLI(t, "silence", "create", "--state-dir", state, "--match", "name=MER-TAG-001", "--match", "workload=docs-site",
		"--duration", "2h", "--comment", "owner tag lands tomorrow", "--format", "json")
	var s meridian.Silence
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &s) != nil || s.ID == "" || s.Name != "MER-TAG-001" || s.Workload != "docs-site" {
		t.Fatalf("silence create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	list := func(args ...string) []meridian.Silence {
		t.Helper()
		r := runCLI(t, append([]string{"silence", "list", "--state-dir", state, "--format", "json"}, args...)...)
		var ss []meridian.Silence
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ss) != nil {
			t.Fatalf("silence list: %d %s %s", r.code, r.stdout, r.stderr)
		}
		return ss
	}
	if ss := list("--active"); len(ss) != 1 || ss[0].ID != s.ID {
		t.Errorf("active silences: %+v", ss)
	}
	table := runCLI(t, "silence", "list", "--state-dir", state)
	if !strings.Contains(table.stdout, "name=MER-TAG-001 workload=docs-site") || !strings.Contains(table.stdout, "active") {
		t.Errorf("silence list table:\n%s", table.stdout)
	}
	if r := runCLI(t, "silence", "expire", s.ID, "--state-dir", state); r.code != 0 {
		t.Fatalf("silence expire: %d %s", r.code, r.stderr)
	}
	if ss := list("--active"); len(ss) != 0 {
		t.Errorf("active after expiry: %+v", ss)
	}
	if ss := list(); len(ss) != 1 || ss[0].ExpiredAt.IsZero() {
		t.Errorf("all silences after expiry: %+v", ss)
	}
	if r := runCLI(t, "silence", "expire", "nope", "--state-dir", state); r.code != 1 {
		t.Errorf("expire of an unknown silence: %d", r.code)
	}
	audit := runCLI(t, "alerts", "list", "--state-dir", state, "--state", "bogus")
	if audit.code != 1 || !strings.Contains(audit.stderr, "--state must be firing, resolved or silenced") {
		t.Errorf("alerts list --state bogus: %d %s", audit.code, audit.stderr)
	}
	if r := runCLI(t, "alerts", "list", "--state-dir", state, "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("alerts list on a store without alerts: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "alerts", "replay", "42", "--state-dir", state); r.code != 1 {
		t.Errorf("replay of an unknown dead letter: %d %s", r.code, r.stderr)
	}
	if r := runCLI(t, "alerts", "dead-letters", "--state-dir", state, "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("dead-letters on an empty store: %d %q %s", r.code, r.stdout, r.stderr)
	}
}
