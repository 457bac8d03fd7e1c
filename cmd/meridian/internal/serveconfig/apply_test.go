package serveconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApply(t *testing.T) {
	const file = "repo: /from/file\nlisten: \":1111\"\ninterval: 11m\npr_terraform_repos: [a/file, b/file]\n"
	cases := map[string]struct {
		reason string
		args   []string
		env    map[string]string
		file   string // "" : no file
		want   map[string]string
	}{
		"nothing": {
			reason: "with no file and no environment, Apply sets nothing",
			want:   map[string]string{},
		},
		"file": {
			reason: "the file sets what nothing else does, lists included",
			file:   file,
			want:   map[string]string{"repo": "/from/file", "listen": ":1111", "interval": "11m0s", "pr-terraform-repos": "[a/file|b/file]"},
		},
		"env over file": {
			reason: "MERIDIAN_* variables override the file setting by setting; a list variable is comma-separated",
			file:   file,
			env:    map[string]string{"MERIDIAN_LISTEN": ":2222", "MERIDIAN_PR_TERRAFORM_REPOS": "c/env, d/env"},
			want:   map[string]string{"repo": "/from/file", "listen": ":2222", "interval": "11m0s", "pr-terraform-repos": "[c/env|d/env]"},
		},
		"flags over env and file": {
			reason: "a flag given on the command line is left alone",
			file:   file,
			env:    map[string]string{"MERIDIAN_LISTEN": ":2222", "MERIDIAN_INTERVAL": "22m"},
			args:   []string{"--listen", ":3333", "--pr-terraform-repos", "e/flag"},
			want:   map[string]string{"repo": "/from/file", "listen": ":3333", "interval": "22m0s", "pr-terraform-repos": "[e/flag]"},
		},
		"env without a file": {
			reason: "the environment alone sets flags",
			env:    map[string]string{"MERIDIAN_REPO": "/from/env", "MERIDIAN_METRICS_AUTH": "true"},
			want:   map[string]string{"repo": "/from/env", "metrics-auth": "true"},
		},
		"existing variable names": {
			reason: "MERIDIAN_TERRAFORM keeps naming the binary, as for every command; the mode has its own variable",
			env:    map[string]string{"MERIDIAN_TERRAFORM": "/opt/tf", "MERIDIAN_TERRAFORM_MODE": "false", "MERIDIAN_TERRAFORM_BIN": "/not/this"},
			want:   map[string]string{"terraform-bin": "/opt/tf", "terraform": "false"},
		},
		"not settings": {
			reason: "the variables of --config and --print-config are not read: the environment does not switch serve to printing",
			env:    map[string]string{"MERIDIAN_CONFIG": "other.yaml", "MERIDIAN_PRINT_CONFIG": "true"},
			want:   map[string]string{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var f *File
			if tc.file != "" {
				var err error
				if f, err = Parse("serve.yaml", []byte(tc.file), testFlags(), nil); err != nil {
					t.Fatal(err)
				}
			}
			fs := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := Apply(fs, f, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if d := cmp.Diff(tc.want, values(fs)); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, d)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	f, err := Parse("serve.yaml", []byte("repo: /r\npr_concurrency: 4\n"), testFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Flags other than the ones the file was checked on, where
	// --pr-concurrency takes a duration: the file's value no longer fits.
	fs := testFlags()
	fs.Lookup("pr-concurrency").Value = fs.Lookup("interval").Value
	env := map[string]string{"MERIDIAN_INTERVAL": "often", "MERIDIAN_LISTEN": ":1"}
	err = Apply(fs, f, func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("bad values: no error")
	}
	got := errorLines(err)
	want := []string{`$MERIDIAN_INTERVAL: time: invalid duration "often"`, `serve.yaml:2: pr-concurrency: time: missing unit in duration "4"`}
	// VisitAll goes in flag-name order: interval before pr-concurrency.
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if v := fs.Lookup("listen").Value.String(); v != ":1" {
		t.Errorf("a bad setting stopped the others: --listen = %q, want \":1\"", v)
	}
	if strings.Contains(err.Error(), "listen") {
		t.Errorf("a good setting reported as an error: %v", err)
	}
}

func TestEnvVar(t *testing.T) {
	got := map[string]string{}
	for _, name := range []string{"listen", "pr-terraform-repos", "log-level", "terraform-bin", "terraform"} {
		got[name] = EnvVar(name)
	}
	// docs/server.md, "Configuration file".
	want := map[string]string{"listen": "MERIDIAN_LISTEN", "pr-terraform-repos": "MERIDIAN_PR_TERRAFORM_REPOS", "log-level": "MERIDIAN_LOG_LEVEL",
		"terraform-bin": "MERIDIAN_TERRAFORM", "terraform": "MERIDIAN_TERRAFORM_MODE"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("variables (-want +got):\n%s", d)
	}
}
