package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
)

// TestDBLocation: --db (else MERIDIAN_DB) picks the backend; anything
// that looks like a URL or a connection string but is not PostgreSQL's is
// refused, never taken as a file name.
func TestDBLocation(t *testing.T) {
	state := t.TempDir()
	cases := map[string]struct {
		reason  string
		flag    string
		env     string
		want    string
		wantURL bool
		// wantErr is a substring of the error; empty means no error.
		wantErr string
	}{
		"Default":        {reason: "SQLite in the state dir stays the default", want: filepath.Join(state, "meridian.db")},
		"File":           {reason: "a plain path is a SQLite file", flag: "x/store.db", want: mustAbs(t, "x/store.db")},
		"Postgres":       {reason: "a postgres:// URL selects PostgreSQL", flag: "postgres://m@db/meridian", want: "postgres://m@db/meridian", wantURL: true},
		"Postgresql":     {reason: "libpq's other scheme", flag: "postgresql://m@db/meridian", want: "postgresql://m@db/meridian", wantURL: true},
		"Env":            {reason: "MERIDIAN_DB applies when --db is not given", env: "postgres://m@db/x", want: "postgres://m@db/x", wantURL: true},
		"FlagOverEnv":    {reason: "the flag wins over the variable", flag: "a.db", env: "postgres://m@db/x", want: mustAbs(t, "a.db")},
		"MySQL":          {reason: "an unknown scheme is an error", flag: "mysql://root:hunter2@db/m", wantErr: `unknown scheme "mysql"`},
		"FileURL":        {reason: "file:// is a URL too, not a file name", flag: "file:///tmp/m.db", wantErr: `unknown scheme "file"`},
		"EnvUnknown":     {reason: "the variable is checked like the flag", env: "redis://db:6379", wantErr: `unknown scheme "redis"`},
		"SchemelessDSN":  {reason: "user:password@host would become a file named after a password", flag: "root:hunter2@db:5432/m", wantErr: "without a scheme"},
		"ColonInFileOK":  {reason: "a colon alone does not make a URL", flag: "backup:2026.db", want: mustAbs(t, "backup:2026.db")},
		"PostgresUpper":  {reason: "schemes are case-insensitive", flag: "POSTGRES://m@db/x", want: "POSTGRES://m@db/x", wantURL: true},
		"RelativeWithAt": {reason: "a path with an @ but no colon before it is a file", flag: "dir/me@host.db", want: mustAbs(t, "dir/me@host.db")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(envDB, tc.env)
			f := stateFlags{stateDir: state, db: tc.flag}
			got, isURL, err := f.dbLocation()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || meridian.ErrorCode(err) != meridian.EINVALID {
					t.Fatalf("%s: got %q, %v; want an EINVALID error with %q", tc.reason, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want || isURL != tc.wantURL {
				t.Errorf("%s: got %q (URL %v), %v; want %q (URL %v)", tc.reason, got, isURL, err, tc.want, tc.wantURL)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestDBUnknownSchemeCreatesNothing: a command given a URL of another
// database fails with exit code 2 and leaves no file behind.
func TestDBUnknownSchemeCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := runCLI(t, "token", "list", "--state-dir", filepath.Join(dir, "state"), "--db", "mysql://root:hunter2@db/meridian")
	if r.code == 0 || !strings.Contains(r.stderr, `unknown scheme "mysql"`) || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("exit %d, stderr %q: want a failure naming the scheme, without the password", r.code, r.stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

// TestDBPostgres runs token commands against a PostgreSQL store, as two
// processes sharing it would: what one creates, the other lists.
func TestDBPostgres(t *testing.T) {
	u := postgrestest.NewDatabase(t)
	state := t.TempDir()
	r := runCLI(t, "token", "create", "--role", "viewer", "--name", "pg-ci", "--state-dir", state, "--db", u)
	if r.code != 0 {
		t.Fatalf("token create: exit %d: %s", r.code, r.stderr)
	}
	l := runCLI(t, "token", "list", "--state-dir", state, "--db", u)
	if l.code != 0 || !strings.Contains(l.stdout, "pg-ci") {
		t.Errorf("token list: exit %d, stdout %q, stderr %q: want the token created through the same URL", l.code, l.stdout, l.stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "meridian.db")); err == nil {
		t.Errorf("a SQLite file was created although --db named PostgreSQL")
	}
}

// TestServePostgres boots `meridian serve` on a PostgreSQL store: it
// plans on startup, records the plan there, reports ready, and never
// shows the URL's password.
func TestServePostgres(t *testing.T) {
	u := postgrestest.NewDatabase(t)
	repo, state := exampleRepo(t), t.TempDir()
	// One server, whose state dir holds the example's local deploy
	// repository: it vouches that nothing else needs it.
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform, c.DB, c.SharedStateDir = true, u, true })
	waitUntil(t, "the startup plan", func() bool {
		st := m.Reconciler().State()
		return st.PlanID != "" || st.LastError != ""
	})
	if st := m.Reconciler().State(); st.PlanID == "" {
		t.Fatalf("startup plan failed: %s", st.LastError)
	}
	runs, err := m.Store().ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
	if err != nil || len(runs) == 0 {
		t.Fatalf("plan runs in the PostgreSQL store: %v, %v", runs, err)
	}
	resp, err := http.Get("http://" + m.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d, want 200", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(state, "meridian.db")); err == nil {
		t.Errorf("a SQLite file was created although --db named PostgreSQL")
	}
}
