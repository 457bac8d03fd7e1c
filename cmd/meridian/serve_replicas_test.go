package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridianhq/meridian/leader/leadertest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/terraform/terraformtest"
	"github.com/meridianhq/meridian/web"
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

// TestServePeerURLs: --peer-urls comes from a flag, $MERIDIAN_PEER_URLS
// or the file's peer_urls like every setting; a bad entry, or an advertise
// URL the other replicas would refuse, stops the replica at start-up with
// the setting named and no password shown; without the setting, a replica
// on one machine forwards to its loopback peers.
func TestServePeerURLs(t *testing.T) {
	t.Setenv("MERIDIAN_PEER_URLS", "http://a.example:8080, dns+http://peers.ns.svc:8080")
	got, err := runPrintConfig(t, []string{"--repo", "/r"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "['http://a.example:8080', 'dns+http://peers.ns.svc:8080']"; got["peer_urls"] != want {
		t.Errorf("peer_urls from $MERIDIAN_PEER_URLS = %q, want %q", got["peer_urls"], want)
	}

	for _, tc := range []struct {
		list          []string
		advertise     string
		want, notWant string
	}{
		{[]string{"http://a.example:8080", "ftp://b.example"}, "http://10.0.0.1:8080", "--peer-urls: entry 2", ""},
		{[]string{"https://u:hunter2@b.example"}, "http://10.0.0.1:8080", "userinfo", "hunter2"},
		{nil, "http://u:hunter2@10.0.0.1:8080", "--advertise-url", "hunter2"},
		{nil, "http://10.0.0.1:8080/meridian", "no path", ""},
	} {
		_, err := replicaPeers(tc.list, tc.advertise)
		if err == nil || !strings.Contains(err.Error(), tc.want) || tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("replicaPeers(%q, %q) = %v; want an error with %q and without %q", tc.list, tc.advertise, err, tc.want, tc.notWant)
		}
	}
	p, err := replicaPeers(nil, "http://127.0.0.1:8081")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(context.Background(), "http://127.0.0.1:8082"); err != nil {
		t.Errorf("default on loopback: a replica on the same machine refused: %v", err)
	}
	if _, err := p.Check(context.Background(), "http://10.0.0.1:8082"); err == nil {
		t.Error("default on loopback: a leader on another host allowed")
	}
}

// TestServeForwardsOnlyToPeerURLs runs a replica on PostgreSQL and
// rewrites its lease row, as whoever can write the database could, to
// name another host as the leader: the replica steps down and refuses to
// forward a plan there, the client's token with it, until the row names
// a leader among its --peer-urls.
func TestServeForwardsOnlyToPeerURLs(t *testing.T) {
	u := postgrestest.NewDatabase(t)
	trap, peer := leadertest.NewPeer(t), leadertest.NewPeer(t)
	m := NewMain()
	m.Config.Repo, m.Config.Addr, m.Config.StateDir, m.Config.DB, m.Config.NoTerraform = exampleRepo(t), "127.0.0.1:0", t.TempDir(), u, true
	m.Config.CacheDir, m.Config.SharedStateDir, m.Config.LeaderLease = filepath.Join(m.Config.StateDir, "cache"), true, 3*time.Second
	m.Config.AdvertiseURL, m.Config.PeerURLs = "http://10.0.0.1:8080", []string{peer.URL}
	ctx := context.Background()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, token, err := web.IssueToken(ctx, m.db, web.TokenRequest{Name: "op", Role: web.RoleOperator, CreatedBy: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "this replica leads", m.repl.election.Leading)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	impostor := func(addr string) {
		t.Helper()
		if _, err := conn.Exec(ctx, `UPDATE leader_leases SET holder = 'impostor', addr = $1, expires_at = clock_timestamp() + interval '1 hour'`, addr); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the replica follows "+addr, func() bool { return m.repl.election.LeaderURL() == addr })
	}
	plan := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+m.Addr()+"/api/v1/plans", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	impostor(trap.URL)
	if code := plan(); code != http.StatusServiceUnavailable {
		t.Errorf("plan with the lease naming a host outside --peer-urls: %d, want 503", code)
	}
	if got := trap.Requests(); len(got) != 0 {
		t.Errorf("the host the lease named received %+v", got)
	}
	impostor(peer.URL)
	if code := plan(); code != http.StatusCreated {
		t.Errorf("plan with the lease naming a peer: %d, want the peer's 201", code)
	}
	if got := peer.Requests(); len(got) != 1 || got[0].Authorization != "Bearer "+token {
		t.Errorf("the peer received %+v, want the plan with the client's token", got)
	}
}
