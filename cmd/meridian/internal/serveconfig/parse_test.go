package serveconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// testSecrets names where two of serve's secrets go, as cmd/meridian does.
var testSecrets = map[string]string{
	"webhook-secret": "webhook_secret_file or $MERIDIAN_WEBHOOK_SECRET",
	"github-token":   "github_token_file or $GITHUB_TOKEN",
}

// testFlags is a stand-in for serve's flags with every kind of value they
// use (string, duration, int, bool, string slice and array) and the flags
// that are not settings.
func testFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("repo", "", "")
	fs.String("listen", ":8080", "")
	fs.String("db", "", "")
	fs.String("github-api-url", "https://api.github.com", "")
	fs.String("terraform-bin", "", "")
	fs.String("terraform", "auto", "")
	fs.String("webhook-secret-file", "", "")
	fs.Duration("interval", 0, "")
	fs.Duration("lock-timeout", 0, "")
	fs.Int("pr-concurrency", 2, "")
	fs.Bool("metrics-auth", false, "")
	fs.StringSlice("pr-terraform-repos", nil, "")
	fs.StringSlice("trusted-proxy", nil, "")
	fs.StringArray("label", nil, "")
	fs.String("config", "", "")
	fs.Bool("print-config", false, "")
	return fs
}

// values are the flags of fs that are set, as the command line shows them.
func values(fs *pflag.FlagSet) map[string]string {
	got := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			got[f.Name] = "[" + strings.Join(sv.GetSlice(), "|") + "]"
			return
		}
		got[f.Name] = f.Value.String()
	})
	return got
}

// errorLines are the errors err joins, one a line.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestParse(t *testing.T) {
	cases := map[string]struct {
		reason string
		file   string
		// want are the flags the file sets, once applied to fresh flags
		// with no environment; wantErr the error lines, exactly.
		want    map[string]string
		wantErr []string
	}{
		"empty": {
			reason: "an empty file sets nothing",
			file:   "", want: map[string]string{},
		},
		"comments only": {
			reason: "a file of comments sets nothing",
			file:   "# nothing yet\n", want: map[string]string{},
		},
		"every kind of value": {
			reason: "keys are flag names in snake_case or kebab-case, values are parsed as the flag parses them",
			file: "repo: /r\nlisten: \":1\"\ninterval: 5m\nlock-timeout: 90s\npr_concurrency: 4\nmetrics_auth: true\n" +
				"pr_terraform_repos: [a/b, c/d]\ntrusted_proxy: 10.0.0.0/8, 192.168.0.0/16\nlabel: [x, y]\n",
			want: map[string]string{"repo": "/r", "listen": ":1", "interval": "5m0s", "lock-timeout": "1m30s", "pr-concurrency": "4",
				"metrics-auth": "true", "pr-terraform-repos": "[a/b|c/d]", "trusted-proxy": "[10.0.0.0/8|192.168.0.0/16]", "label": "[x|y]"},
		},
		"empty list": {
			reason: "an empty YAML list sets a list flag to no items",
			file:   "pr_terraform_repos: []\n", want: map[string]string{"pr-terraform-repos": "[]"},
		},
		"user without password": {
			reason: "a URL with a user but no password carries no secret",
			file:   "db: postgres://meridian@db:5432/meridian\n", want: map[string]string{"db": "postgres://meridian@db:5432/meridian"},
		},
		"not a mapping": {
			reason:  "the file is a mapping of settings",
			file:    "- repo\n",
			wantErr: []string{"f.yaml:1: the file must be a mapping of settings (key: value), got a list"},
		},
		"a scalar document": {
			reason:  "a lone value is no mapping either",
			file:    "\nrepo\n",
			wantErr: []string{`f.yaml:2: the file must be a mapping of settings (key: value), got "repo"`},
		},
		"unknown key": {
			reason:  "a typo is an error naming the line, not a silently ignored setting",
			file:    "repo: /r\nintervall: 3m\n",
			wantErr: []string{"f.yaml:2: intervall: unknown setting (the settings are serve's flags: meridian serve --help)"},
		},
		"flags that are not settings": {
			reason: "the file cannot name another file or switch to printing",
			file:   "config: other.yaml\nprint_config: true\n",
			wantErr: []string{
				"f.yaml:1: config: unknown setting (the settings are serve's flags: meridian serve --help)",
				"f.yaml:2: print_config: unknown setting (the settings are serve's flags: meridian serve --help)",
			},
		},
		"bad value": {
			reason:  "values are checked as the flag checks them",
			file:    "repo: /r\n\ninterval: soon\n",
			wantErr: []string{`f.yaml:3: interval: time: invalid duration "soon"`},
		},
		"all errors at once": {
			reason: "every error of the file is reported, in file order, and a bad setting does not hide the next",
			file:   "intervall: 3m\nrepo: /r\nlock_timeout: later\n",
			wantErr: []string{
				"f.yaml:1: intervall: unknown setting (the settings are serve's flags: meridian serve --help)",
				`f.yaml:3: lock_timeout: time: invalid duration "later"`,
			},
		},
		"named secrets": {
			reason: "secrets never come from the file, and the error says where they go",
			file:   "webhook_secret: hunter2\ngithub-token: ghp_x\n",
			wantErr: []string{
				"f.yaml:1: webhook_secret: secrets are never read from the configuration file: use webhook_secret_file or $MERIDIAN_WEBHOOK_SECRET",
				"f.yaml:2: github-token: secrets are never read from the configuration file: use github_token_file or $GITHUB_TOKEN",
			},
		},
		"secrets by their name": {
			reason: "a key named like a secret is refused even when no flag has that name",
			file:   "token: a\nsmtp_password: b\nslack-secret: c\nvault_token: d\n",
			wantErr: []string{
				"f.yaml:1: token: secrets are never read from the configuration file: use a *_file setting or the environment",
				"f.yaml:2: smtp_password: secrets are never read from the configuration file: use a *_file setting or the environment",
				"f.yaml:3: slack-secret: secrets are never read from the configuration file: use a *_file setting or the environment",
				"f.yaml:4: vault_token: secrets are never read from the configuration file: use a *_file setting or the environment",
			},
		},
		"secret file setting": {
			reason: "a *_secret_file key names a file, not a secret",
			file:   "webhook_secret_file: /run/secrets/webhook\n", want: map[string]string{"webhook-secret-file": "/run/secrets/webhook"},
		},
		"password in the store URL": {
			reason:  "a store URL with a password is a secret in the file; the error says where it goes",
			file:    "repo: /r\ndb: postgres://u:pw@h/db\n",
			wantErr: []string{"f.yaml:2: db: the URL carries a password, and secrets are never read from the configuration file: put the whole URL in $MERIDIAN_DB, or keep the password in $PGPASSWORD or a passfile ($PGPASSFILE)"},
		},
		"password in another URL": {
			reason:  "any URL with a password is refused, with its own variable",
			file:    "github_api_url: https://user:apipw@ghe.example/api/v3\n",
			wantErr: []string{"f.yaml:1: github_api_url: the URL carries a password, and secrets are never read from the configuration file: put the whole URL in $MERIDIAN_GITHUB_API_URL"},
		},
		"password in a list item": {
			reason:  "list items are checked for passwords too",
			file:    "pr_terraform_repos: [a/b, \"https://u:pw@git.example/c\"]\n",
			wantErr: []string{"f.yaml:1: pr_terraform_repos: the URL carries a password, and secrets are never read from the configuration file: put the whole URL in $MERIDIAN_PR_TERRAFORM_REPOS"},
		},
		"mapping for a value": {
			reason:  "a mapping where a value belongs is refused at the value's line",
			file:    "repo: /r\nlisten:\n  port: 1\n",
			wantErr: []string{"f.yaml:3: listen: want a plain value, got a mapping"},
		},
		"list for a value": {
			reason:  "a list for a flag of one value is refused",
			file:    "listen: [\":1\", \":2\"]\n",
			wantErr: []string{"f.yaml:1: listen: want a plain value, got a list"},
		},
		"mapping for a list": {
			reason:  "a list flag takes a list or a comma-separated value",
			file:    "pr_terraform_repos: {a: b}\n",
			wantErr: []string{"f.yaml:1: pr_terraform_repos: want a list or a comma-separated value, got a mapping"},
		},
		"null value": {
			reason:  "a key without a value is a mistake, not the default",
			file:    "listen:\n",
			wantErr: []string{"f.yaml:1: listen: want a plain value, got nothing (null)"},
		},
		"alias value": {
			reason:  "aliases are refused rather than expanded",
			file:    "repo: &r /r\nlisten: *r\n",
			wantErr: []string{"f.yaml:2: listen: want a plain value, got an alias"},
		},
		"nested list item": {
			reason:  "list items are plain values",
			file:    "pr_terraform_repos: [a/b, [c/d]]\n",
			wantErr: []string{"f.yaml:1: pr_terraform_repos: list items must be plain values, got a list"},
		},
		"complex key": {
			reason:  "keys are plain names",
			file:    "? [a]\n: b\n",
			wantErr: []string{"f.yaml:1: (key): keys must be plain names, got a list"},
		},
		"duplicate": {
			reason:  "a key set twice (in two spellings) is ambiguous",
			file:    "repo: /r\nlock_timeout: 1s\nlock-timeout: 2s\n",
			wantErr: []string{"f.yaml:3: lock-timeout: set twice"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file, err := Parse("f.yaml", []byte(tc.file), testFlags(), testSecrets)
			if d := cmp.Diff(tc.wantErr, errorLines(err)); d != "" {
				t.Fatalf("%s: errors (-want +got):\n%s", tc.reason, d)
			}
			if err != nil {
				if file != nil {
					t.Errorf("%s: Parse returned a file with its error", tc.reason)
				}
				return
			}
			fs := testFlags()
			if err := Apply(fs, file, func(string) string { return "" }); err != nil {
				t.Fatalf("%s: applying the parsed file: %v", tc.reason, err)
			}
			if d := cmp.Diff(tc.want, values(fs)); d != "" {
				t.Errorf("%s: settings (-want +got):\n%s", tc.reason, d)
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse("dir/serve.yaml", []byte("repo: [/r\n"), testFlags(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "dir/serve.yaml: yaml: ") {
		t.Fatalf("invalid YAML: got %v, want an error naming the file and the YAML error", err)
	}
}

func TestSource(t *testing.T) {
	file, err := Parse("serve.yaml", []byte("# settings\nrepo: /r\n\nlisten: \":1\"\n"), testFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, name := range []string{"repo", "listen", "interval"} {
		got[name] = file.Source(name)
	}
	want := map[string]string{"repo": "serve.yaml:2", "listen": "serve.yaml:4", "interval": ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
	var none *File
	if s := none.Source("repo"); s != "" {
		t.Errorf("no file: Source = %q, want none", s)
	}
}

// FuzzParseServeConfig checks that no input panics Parse, that every error
// names the file, and that whatever Parse accepts applies cleanly to fresh
// flags, setting exactly the settings the file holds.
func FuzzParseServeConfig(f *testing.F) {
	f.Add([]byte("repo: /r\nlisten: \":1\"\npr_terraform_repos: [a/b]\n"))
	f.Add([]byte("interval: [1, {a: b}]\n&x a: *x\n"))
	f.Add([]byte("db: postgres://u:p@h/d\nwebhook_secret: x\n"))
	f.Add([]byte("- 1\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("trusted_proxy: 10.0.0.0/8, ,x\nlabel: [\"\"]\npr_concurrency: 0x10\nmetrics_auth: yes\n"))
	scratch := testFlags()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data, scratch, testSecrets)
		if err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Error(), "f.yaml:") {
					t.Fatalf("error does not name the file: %v", e)
				}
			}
			return
		}
		fs := testFlags()
		for name, v := range file.values {
			if fs.Lookup(name) == nil || !Setting(name) || v.line <= 0 {
				t.Fatalf("accepted %q at line %d, which is no setting", name, v.line)
			}
		}
		if err := Apply(fs, file, func(string) string { return "" }); err != nil {
			t.Fatalf("a file Parse accepted does not apply: %v", err)
		}
		if set := values(fs); len(set) != len(file.values) {
			t.Fatalf("the file holds %d settings, applying it set %d: %v", len(file.values), len(set), set)
		}
	})
}
