package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/cmd/meridian/internal/serveconfig"
)

// runPrintConfig runs `meridian serve --print-config` with args, env
// and a config file, and returns the effective values of the settings
// named in keys (from the printed YAML) or the error.
func runPrintConfig(t *testing.T, args []string, env map[string]string, file string) (map[string]string, error) {
	t.Helper()
	for _, k := range []string{"MERIDIAN_LISTEN", "MERIDIAN_INTERVAL", "MERIDIAN_BRANCH", "MERIDIAN_REPO", "MERIDIAN_PR_TERRAFORM_REPOS",
		"MERIDIAN_DB", "MERIDIAN_TERRAFORM", "MERIDIAN_TERRAFORM_MODE", "MERIDIAN_LOG_LEVEL"} {
		t.Setenv(k, env[k])
	}
	if file != "" {
		p := filepath.Join(t.TempDir(), "serve.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	root := newRootCmd(a)
	root.SetArgs(append([]string{"serve", "--print-config"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	if err := root.Execute(); err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		v, _, _ = strings.Cut(v, "  # ")
		got[k] = strings.Trim(v, `"`)
	}
	return got, nil
}

func TestServeConfigPrecedence(t *testing.T) {
	file := "repo: /from/file\nlisten: \":1111\"\ninterval: 11m\nbranch: file-branch\npr_terraform_repos: [a/file, b/file]\n"
	cases := map[string]struct {
		reason string
		args   []string
		env    map[string]string
		file   string
		want   map[string]string
	}{
		"defaults": {
			reason: "with nothing given, the flags' defaults apply",
			args:   []string{"--repo", "/r"},
			want:   map[string]string{"repo": "/r", "listen": ":8080", "interval": "1m0s", "branch": "main", "pr_terraform_repos": "[]"},
		},
		"file over defaults": {
			reason: "the file sets what nothing else does, lists included",
			file:   file,
			want:   map[string]string{"repo": "/from/file", "listen": ":1111", "interval": "11m0s", "branch": "file-branch", "pr_terraform_repos": "[a/file, b/file]"},
		},
		"env over file": {
			reason: "MERIDIAN_* variables override the file, setting by setting",
			file:   file,
			env:    map[string]string{"MERIDIAN_LISTEN": ":2222", "MERIDIAN_PR_TERRAFORM_REPOS": "c/env,d/env"},
			want:   map[string]string{"repo": "/from/file", "listen": ":2222", "interval": "11m0s", "branch": "file-branch", "pr_terraform_repos": "[c/env, d/env]"},
		},
		"flags over env and file": {
			reason: "a flag on the command line wins over both",
			file:   file,
			env:    map[string]string{"MERIDIAN_LISTEN": ":2222", "MERIDIAN_INTERVAL": "22m"},
			args:   []string{"--listen", ":3333", "--pr-terraform-repos", "e/flag"},
			want:   map[string]string{"repo": "/from/file", "listen": ":3333", "interval": "22m0s", "branch": "file-branch", "pr_terraform_repos": "[e/flag]"},
		},
		"env alone satisfies --repo": {
			reason: "a required flag may come from the environment",
			env:    map[string]string{"MERIDIAN_REPO": "/from/env"},
			want:   map[string]string{"repo": "/from/env", "listen": ":8080", "interval": "1m0s", "branch": "main", "pr_terraform_repos": "[]"},
		},
		"existing variable names": {
			reason: "MERIDIAN_TERRAFORM keeps naming the binary, as for every command; the mode has its own variable",
			args:   []string{"--repo", "/r"},
			env:    map[string]string{"MERIDIAN_TERRAFORM": "/opt/tf", "MERIDIAN_TERRAFORM_MODE": "false"},
			want:   map[string]string{"repo": "/r", "terraform_bin": "/opt/tf", "terraform": "false", "listen": ":8080", "interval": "1m0s", "branch": "main", "pr_terraform_repos": "[]"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := runPrintConfig(t, tc.args, tc.env, tc.file)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			sub := map[string]string{}
			for k := range tc.want {
				sub[k] = got[k]
			}
			if d := cmp.Diff(tc.want, sub); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, d)
			}
		})
	}
}

func TestServeConfigErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		file   string
		env    map[string]string
		want   []string
	}{
		"unknown key": {reason: "a typo is an error naming the line, not a silently ignored setting",
			file: "repo: /r\nintervall: 3m\n", want: []string{"serve.yaml:2: intervall: unknown setting"}},
		"bad value": {reason: "values are checked as the flag checks them",
			file: "repo: /r\n\ninterval: soon\n", want: []string{"serve.yaml:3: interval:", `invalid duration "soon"`}},
		"secret key": {reason: "secrets never come from the file",
			file: "repo: /r\nwebhook_secret: hunter2\ngithub-token: ghp_x\n",
			want: []string{"serve.yaml:2: webhook_secret: secrets are never read", "serve.yaml:3: github-token: secrets are never read"}},
		"password in URL": {reason: "a store URL with a password is a secret in the file",
			file: "repo: /r\ndb: postgres://u:pw@h/db\n", want: []string{"serve.yaml:2: db: the URL carries a password", "$MERIDIAN_DB"}},
		"wrong shape": {reason: "a mapping where a value belongs is refused",
			file: "repo: /r\nlisten:\n  port: 1\n", want: []string{"serve.yaml:3: listen: want a plain value, got a mapping"}},
		"duplicate": {reason: "a key set twice (in two spellings) is ambiguous",
			file: "repo: /r\nlock_timeout: 1s\nlock-timeout: 2s\n", want: []string{"serve.yaml:3: lock-timeout: set twice"}},
		"not a mapping": {reason: "the file is a mapping of settings",
			file: "- repo\n", want: []string{"serve.yaml:1: the file must be a mapping"}},
		"bad env": {reason: "a bad MERIDIAN_* value names its variable",
			file: "repo: /r\n", env: map[string]string{"MERIDIAN_INTERVAL": "often"}, want: []string{"$MERIDIAN_INTERVAL:", "often"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := runPrintConfig(t, nil, tc.env, tc.file)
			if err == nil {
				t.Fatalf("%s: no error", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not contain %q", tc.reason, err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@") {
				t.Errorf("%s: the error repeats a secret: %v", tc.reason, err)
			}
		})
	}
}

func TestServeConfigInsideRepoRefused(t *testing.T) {
	repo := t.TempDir()
	p := filepath.Join(repo, "serve.yaml")
	if err := os.WriteFile(p, []byte("listen: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(&app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	root.SetArgs([]string{"serve", "--print-config", "--repo", repo, "--config", p})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "never from the config repo") {
		t.Fatalf("a config file inside the config repo: got %v, want a refusal", err)
	}
}

func TestPrintConfigRedacts(t *testing.T) {
	t.Setenv(envWebhookSecret, "s3cr3t-webhook-value")
	got, err := runPrintConfig(t, []string{"--repo", "/r", "--github-api-url", "https://user:apipw@ghe.example/api/v3",
		"--peer-urls", "https://ops:peerpw@leader.example:8443"},
		map[string]string{"MERIDIAN_DB": "postgres://meridian:dbpw@db/meridian"}, "")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join([]string{got["db"], got["github_api_url"], got["peer_urls"]}, " ")
	if !strings.Contains(got["peer_urls"], "leader.example:8443") {
		t.Errorf("the redacted peer URL lost its host: %q", got["peer_urls"])
	}
	for _, secret := range []string{"dbpw", "apipw", "s3cr3t", "peerpw"} {
		if strings.Contains(all, secret) {
			t.Errorf("--print-config shows %q: %v", secret, got)
		}
	}
	if !strings.Contains(got["db"], "db/meridian") {
		t.Errorf("the redacted store URL lost its host: %q", got["db"])
	}
}

// TestServeConfigExample checks that the documented example file
// (docs/server.md links it) is one serve accepts. Parsing itself is tested,
// and fuzzed, in package serveconfig.
func TestServeConfigExample(t *testing.T) {
	p := filepath.Join("..", "..", "deploy", "config", "serve.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	file, err := serveconfig.Parse(p, data, newServeFlags(), secretKeys)
	if err != nil {
		t.Fatalf("the example configuration file is refused: %v", err)
	}
	for _, name := range []string{"repo", "db", "pr-terraform-repos", "webhook-secret-file", "log-format"} {
		if file.Source(name) == "" {
			t.Errorf("the example no longer sets %s", name)
		}
	}
}
