package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// TestServeReplicasRefuseLocalState starts a server on a PostgreSQL store
// with the example, whose deploy repository is the state dir's and whose
// module declares the local backend: both would stay apart in each
// replica, so it refuses to start, naming each setting, unless the
// operator says the state dir is shared.
func TestServeReplicasRefuseLocalState(t *testing.T) {
	u := postgrestest.NewDatabase(t)
	repo := exampleRepo(t)
	m := NewMain()
	m.Config.Repo, m.Config.Addr, m.Config.StateDir, m.Config.DB, m.Config.NoTerraform = repo, "127.0.0.1:0", t.TempDir(), u, true
	m.Config.CacheDir = filepath.Join(m.Config.StateDir, "cache")
	err := m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("a server on PostgreSQL with the example's local deploy repository started")
	}
	for _, want := range []string{"meridian.yaml:", "deploy.repo: empty", `targets/aws-eu-central-1.yaml:`, `terraform.module: module terraform/offline declares backend "local"`, "--shared-state-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}
	m.Config.SharedStateDir = true
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("with --shared-state-dir: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

// TestApplyPostgresBackend applies a module that declares no backend with
// `meridian apply --db postgres://…`: its state is in the store's
// database, in the target's schema, as the server's replicas keep it, and
// neither the state dir nor the plan artefacts hold the password.
func TestApplyPostgresBackend(t *testing.T) {
	bin := terraformtest.Binary(t)
	u := postgrestest.NewDatabase(t)
	dir := filepath.Join(t.TempDir(), "config")
	writeChaosConfig(t, dir, filepath.Join(t.TempDir(), "deploy.git"), "http://127.0.0.1:9", filepath.Join(t.TempDir(), "unused"))
	os.Remove(filepath.Join(dir, "alerting.yaml"))
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "initial")
	state := t.TempDir()
	r := runCLI(t, "apply", "--repo", dir, "--auto-approve", "--db", u, "--state-dir", state, "--terraform-bin", bin)
	if r.code != 0 {
		t.Fatalf("apply: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, target := range []string{"site-a", "site-b"} {
		var data string
		schema := stateSchema(store.RepoID(dir), target)
		if err := conn.QueryRow(ctx, `SELECT data FROM `+pgx.Identifier{schema, "states"}.Sanitize()+` WHERE name = 'default'`).Scan(&data); err != nil {
			t.Fatalf("%s: no state in schema %s: %v", target, schema, err)
		}
		if !strings.Contains(data, `"terraform_data"`) {
			t.Errorf("%s: the state holds no resources: %s", target, data)
		}
		if _, err := os.Stat(filepath.Join(state, "workspaces", store.RepoID(dir), target, "terraform.tfstate")); err == nil {
			t.Errorf("%s: a local state file was written too", target)
		}
	}
	// The test server's URL has no password; the connection string must
	// not be written anywhere all the same.
	err = filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), u) {
			t.Errorf("%s holds the store's URL", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTerraformConnString(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"pgx pool settings dropped": {"postgres://u:p@h:5432/db?sslmode=require&pool_max_conns=8&pool_min_conns=1", "postgres://u:p@h:5432/db?sslmode=require"},
		"libpq settings kept":       {"postgres://u@h/db?connect_timeout=5&search_path=x", "postgres://u@h/db?connect_timeout=5&search_path=x"},
	}
	for name, tc := range cases {
		if got := terraformConnString(tc.in); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func TestStateSchema(t *testing.T) {
	short := stateSchema("0123456789abcdef", "site-a")
	if short != "meridian_tf_0123456789abcdef_site-a" {
		t.Errorf("short name: %q", short)
	}
	long1 := stateSchema("0123456789abcdef", strings.Repeat("x", 60)+"-one")
	long2 := stateSchema("0123456789abcdef", strings.Repeat("x", 60)+"-two")
	if len(long1) > 63 || len(long2) > 63 || long1 == long2 {
		t.Errorf("long names %q and %q: want distinct names within PostgreSQL's 63 bytes", long1, long2)
	}
}
