package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/leader/leadertest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// The chaos test's timing: short leases, so that takeovers happen within
// seconds.
const (
	chaosLease     = 3 * time.Second
	chaosLockLease = 3 * time.Second
)

// TestHAChaos runs three `meridian serve` replicas on one PostgreSQL (a
// server of the test's own, which it restarts), each through a TCP proxy
// the test controls, under webhook and API load, with real Terraform
// keeping its state in the pg backend and a deploy repository every
// replica reaches. It kills the leader in the middle of an apply, restarts
// PostgreSQL, and cuts the leader off from the database, and checks that a
// new leader takes over within the lease and finishes the apply, that
// nothing is applied twice (the Terraform state, the deploy repository
// and the audit log agree), that the replicas reconnect, that a cut-off
// leader stops leading, and that no webhook delivery, event or alert is
// lost or sent twice.
func TestHAChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	// The test starts its own server, but runs where the PostgreSQL tests
	// run: it skips without them, and fails under CI=true.
	postgrestest.ServerURL(t)
	tf := terraformtest.Binary(t)
	bin := buildMeridian(t)
	pg := startPostgres(t)
	ctx := context.Background()

	c := newChaosWorld(t, pg, tf, bin)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	for i := range 3 {
		c.replicas = append(c.replicas, c.newReplica(fmt.Sprint("r", i)))
	}
	for _, r := range c.replicas {
		r.start(t)
	}
	first := c.waitLeader(t, nil)
	t.Logf("replica %s leads", first.name)
	// The first commit is planned and applied by the leader (auto_apply).
	c1 := c.head
	c.waitApplied(t, c1)
	phase("first commit applied")

	load := c.startLoad()
	time.Sleep(time.Second)

	// 1. kill -9 the leader in the middle of an apply.
	c.arm(t)
	c2 := c.commit(t, "scale api", "workloads/api.yaml", "min: 1", "min: 2")
	c.push(t, c2)
	c.waitFile(t, c.slowMark, "the leader's Terraform to reach the slow rollout")
	phase("apply of the second commit under way")
	killed := c.leaderNow(t)
	if killed == nil {
		t.Fatal("no replica leads during the apply")
	}
	oldTerm := c.lease(t)
	killedPID := killed.pid()
	killedAt := time.Now()
	killed.kill(t)
	second := c.waitLeader(t, killed)
	newTerm := c.lease(t)
	takeover := newTerm.acquired.Sub(killedAt)
	t.Logf("killed leader %s (term %d) mid-apply; %s took over (term %d) after %s", killed.name, oldTerm.token, second.name, newTerm.token, takeover.Round(time.Millisecond))
	if newTerm.token <= oldTerm.token || takeover > chaosLease+time.Second {
		t.Errorf("takeover after kill -9: term %d → %d after %s; want a new term within the lease (%s)", oldTerm.token, newTerm.token, takeover, chaosLease)
	}
	killed.start(t) // it comes back as a follower
	c.waitApplied(t, c2)
	phase("second commit applied by the new leader")
	c.checkKilledApply(t, killedPID)

	// 2. Restart PostgreSQL under load: the replicas reconnect.
	c.waitQuiet(t)
	phase("quiet")
	pg.restart(t)
	phase("PostgreSQL restarted")
	c3 := c.commit(t, "scale web", "workloads/web.yaml", "min: 2", "min: 3")
	c.push(t, c3)
	c.waitApplied(t, c3)
	c.waitAllReady(t)
	phase("third commit applied, every replica ready")

	// 3. Cut the leader off from the database: it stops leading, another
	// replica takes over.
	c.waitQuiet(t)
	cut := c.leaderNow(t)
	if cut == nil {
		t.Fatal("no leader before the cut")
	}
	cutTerm := c.lease(t)
	cut.proxy.Cut()
	cutAt := time.Now()
	third := c.waitLeader(t, cut)
	afterCut := c.lease(t)
	if !cut.stoppedLeading(t, afterCut.acquired) {
		t.Errorf("the cut-off replica %s still said it led when %s's term %d began", cut.name, third.name, afterCut.token)
	}
	t.Logf("cut %s (term %d) off the database; %s took over (term %d) after %s", cut.name, cutTerm.token, third.name, afterCut.token, afterCut.acquired.Sub(cutAt).Round(time.Millisecond))
	c4 := c.commit(t, "scale batch", "workloads/batch.yaml", "min: 1", "min: 2")
	c.push(t, c4)
	c.waitApplied(t, c4)
	phase("fourth commit applied")
	cut.proxy.Restore()
	c.waitAllReady(t)
	phase("the cut replica is back")

	figs := load.stop(t)
	// A replica down answers nothing, one cut off from the database or
	// waiting for it answers 503; any other failure is a bug.
	for code, n := range figs.apiFailed {
		if code != "refused" && code != "503" {
			t.Errorf("%d API requests answered %s", n, code)
		}
	}
	c.checkDeliveries(t, load)
	c.checkEvents(t, load)
	c.checkAlerts(t)
	c.checkNothingTwice(t, c4)
	phase("checked")
	st := c.store(t)
	counts, _ := st.CountDeliveries(ctx)
	report := fmt.Sprintf("HA chaos: 3 replicas, lease %s; kill -9 of the leader mid-apply: new leader after %s; "+
		"PostgreSQL restarted; leader cut off: new leader after %s; load: %d API requests (failed while a replica was down or cut off: %v), "+
		"%d webhook deliveries (%d resent after a failed answer), deliveries in the store %v, %d events followed, %d alert messages received (%d sent twice)",
		chaosLease, takeover.Round(time.Millisecond), afterCut.acquired.Sub(cutAt).Round(time.Millisecond), figs.api, figs.apiFailed,
		figs.deliveries, figs.resent, counts, figs.events, c.alerts.count(), c.alerts.duplicates())
	t.Log(report)
	fmt.Fprintln(os.Stderr, report)
}

// buildMeridian builds the binary once, into the test's temp dir.
func buildMeridian(t *testing.T) string {
	t.Helper()
	// `go test` runs with the go command it came from on PATH in CI; a
	// missing one is a broken setup, not a reason to skip.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build meridian with: %v", err)
	}
	out := filepath.Join(t.TempDir(), "meridian")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// pgServer is the test's own PostgreSQL, started by scripts/start-postgres.sh.
type pgServer struct {
	dir, url string
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	// Not t.TempDir: as root the server runs as the postgres user, which
	// must reach the folder.
	dir, err := os.MkdirTemp("", "meridian-chaos-pg-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repoRoot(t), "scripts", "start-postgres.sh")
	out, err := exec.Command(script, dir).Output()
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start PostgreSQL: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	p := &pgServer{dir: dir, url: lines[len(lines)-1]}
	t.Cleanup(func() { _ = exec.Command(script, "stop", dir).Run() })
	return p
}

// restart restarts the server in place (same port and data), as an
// operator's maintenance would.
func (p *pgServer) restart(t *testing.T) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("no pg_ctl under /usr/lib/postgresql")
	}
	sort.Strings(bins)
	// The server logs to its file, not to pg_ctl's output, which it would
	// otherwise hold open.
	args := []string{bins[len(bins)-1], "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-m", "fast", "-w", "restart"}
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restart PostgreSQL: %v\n%s", err, out)
	}
}

// chaosWorld is everything the replicas share: the database, the config
// and deploy repositories, a fake GitHub and an alert receiver.
type chaosWorld struct {
	t                   *testing.T
	pg                  *pgServer
	tf, bin             string
	dir                 string
	work, configURL     string
	deployDir           string
	head                string
	prHeads             []string
	secretFile, ghToken string
	gh                  *httptest.Server
	alerts              *alertReceiver
	alertSecret         string
	slowArm, slowMark   string
	token               string
	replicas            []*chaosReplica
	payloads            atomic.Pointer[payloads]
	st                  *postgres.DB
	repoID              string
}

func newChaosWorld(t *testing.T, pg *pgServer, tf, bin string) *chaosWorld {
	t.Helper()
	c := &chaosWorld{t: t, pg: pg, tf: tf, bin: bin, dir: t.TempDir()}
	c.alerts = &alertReceiver{keys: map[string]int{}}
	alertSrv := httptest.NewServer(c.alerts)
	t.Cleanup(alertSrv.Close)
	c.gh = httptest.NewServer(&ghRecorder{})
	t.Cleanup(c.gh.Close)
	c.secretFile = c.file("webhook-secret", e2eSecret)
	c.ghToken = c.file("github-token", "ghp_chaos")
	c.alertSecret = c.file("alert-secret", "chaos alert hmac key")
	c.slowArm, c.slowMark = filepath.Join(c.dir, "slow.arm"), filepath.Join(c.dir, "slow.mark")

	c.deployDir = filepath.Join(c.dir, "deploy.git")
	git(t, c.dir, "init", "-q", "--bare", "-b", "main", c.deployDir)
	bare := filepath.Join(c.dir, "config.git")
	git(t, c.dir, "init", "-q", "--bare", "-b", "main", bare)
	c.configURL = "file://" + bare
	c.work = filepath.Join(c.dir, "config")
	writeChaosConfig(t, c.work, "file://"+c.deployDir, alertSrv.URL, c.alertSecret)
	git(t, c.work, "init", "-q", "-b", "main")
	git(t, c.work, "add", "-A")
	git(t, c.work, "commit", "-q", "-m", "initial")
	git(t, c.work, "remote", "add", "origin", bare)
	// Two pull requests, whose deliveries the load sends.
	for i := range 2 {
		git(t, c.work, "checkout", "-q", "-b", fmt.Sprint("pr-", i))
		editFile(t, c.work, "workloads/web.yaml", "max: 4", fmt.Sprint("max: ", 5+i))
		git(t, c.work, "commit", "-qam", fmt.Sprint("pr ", i))
		c.prHeads = append(c.prHeads, git(t, c.work, "rev-parse", "HEAD"))
		git(t, c.work, "checkout", "-q", "main")
	}
	git(t, c.work, "push", "-q", "origin", "main", "pr-0", "pr-1")
	c.head = git(t, c.work, "rev-parse", "HEAD")
	c.refreshPayloads(t)

	// One operator token for the load, in the shared store.
	r := runCLI(t, "token", "create", "--role", "operator", "--name", "chaos", "--db", pg.url, "--state-dir", c.dir)
	if r.code != 0 {
		t.Fatalf("token create: %s", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	c.token = lines[len(lines)-1]
	source, err := gitops.SourceName(c.configURL)
	if err != nil {
		t.Fatal(err)
	}
	c.repoID = store.RepoID(source)
	return c
}

func (c *chaosWorld) file(name, content string) string {
	p := filepath.Join(c.dir, name)
	writeFile(c.t, p, content)
	return p
}

// writeChaosConfig writes the config repo: two on-prem sites whose
// Terraform module declares no backend (so Meridian keeps its state in
// PostgreSQL), three workloads, an org policy that warns about a single
// replica (alerts to resolve), and an alerting.yaml with a webhook sink.
func writeChaosConfig(t *testing.T, dir, deployURL, alertURL, alertSecret string) {
	writeFile(t, filepath.Join(dir, "meridian.yaml"), "apiVersion: meridian/v1\nkind: Settings\nrequired_tags: [owner, env]\ncurrency: USD\n"+
		"auto_apply: true\ndeploy:\n  repo: "+deployURL+"\n  branch: main\n  path: clusters/prod\n")
	writeFile(t, filepath.Join(dir, "alerting.yaml"), "apiVersion: meridian/v1\nkind: Alerting\nsinks:\n  - name: hook\n    type: webhook\n"+
		"    url: "+alertURL+"\n    secret_file: "+alertSecret+"\nroutes:\n  - sinks: [hook]\n    group_by: [rule]\n    group_wait: 1s\n    group_interval: 1s\n")
	for _, site := range []string{"site-a", "site-b"} {
		writeFile(t, filepath.Join(dir, "targets", site+".yaml"), "apiVersion: meridian/v1\nkind: Target\nname: "+site+
			"\nprovider: onprem\nregion: "+site+"\njurisdiction: eu\nencryption:\n  kms: vault\n  customer_managed_keys: true\n"+
			"log_retention_max_days: 365\ncapacity:\n  vcpu: 64\n  memory_gib: 256\n"+
			"pricing:\n  vcpu_hour: 0.02\n  gib_hour: 0.003\n  egress_gb: 0.02\n  storage_gb_month: 0.05\n"+
			"engine: terraform\nterraform:\n  module: terraform/site\ndestination:\n  server: https://k8s."+site+".example.internal:6443\n")
	}
	// Pinned, so that both sites run workloads and the test knows which
	// site each change touches.
	for _, w := range []struct {
		name, site string
		min        int
	}{{"api", "site-a", 1}, {"web", "site-b", 2}, {"batch", "site-b", 1}} {
		writeFile(t, filepath.Join(dir, "workloads", w.name+".yaml"), fmt.Sprintf("apiVersion: meridian/v1\nkind: Workload\nname: %s\n"+
			"tags:\n  owner: team-%s\n  env: prod\nreplicas:\n  min: %d\n  max: 4\nper_replica:\n  vcpu: 1\n  memory_gib: 2\n  capacity: 100\n"+
			"pin: %s\nsource:\n  repo_url: https://git.example.com/apps/%s.git\n  path: deploy\n  revision: main\n  kind: kustomize\n",
			w.name, w.name, w.min, w.site, w.name))
	}
	writeFile(t, filepath.Join(dir, "policies", "availability.rego"), `# METADATA
# title: availability
# description: Production workloads run at least two replicas.
# custom:
#   id: ORG-HA-001
#   severity: warn
#   remediation: Set replicas.min to 2 or more.
package meridian.org.workload.availability

import data.meridian.lib.result

warn contains result.finding(rego.metadata.chain(), sprintf("production workload runs with replicas.min %d", [input.workload.replicas.min]), "replicas.min") if {
	input.workload.tags.env == "prod"
	input.workload.replicas.min < 2
}
`)
	// The rollout of a workload whose replicas changed sleeps once when
	// the test arms it, so that the test can kill the leader mid-apply.
	writeFile(t, filepath.Join(dir, "terraform", "site", "main.tf"), `variable "target" {
  type = any
}

variable "placements" {
  type    = any
  default = {}
}

resource "terraform_data" "deployment" {
  for_each = var.placements
  input = {
    replicas = each.value.replicas
    site     = var.target.name
  }
}

resource "terraform_data" "rollout" {
  for_each         = var.placements
  triggers_replace = [each.value.replicas]
  provisioner "local-exec" {
    command = "if [ -n \"$MERIDIAN_CHAOS_ARM\" ] && rm \"$MERIDIAN_CHAOS_ARM\" 2>/dev/null; then touch \"$MERIDIAN_CHAOS_MARK\"; sleep 8; fi"
  }
}
`)
}

// commit edits a file of the config repo on main, pushes it, and returns
// the new head.
func (c *chaosWorld) commit(t *testing.T, msg, file, old, new string) string {
	t.Helper()
	editFile(t, c.work, file, old, new)
	git(t, c.work, "commit", "-qam", msg)
	git(t, c.work, "push", "-q", "origin", "main")
	c.head = git(t, c.work, "rev-parse", "HEAD")
	c.refreshPayloads(t)
	return c.head
}

// arm makes the next rollout sleep, and forgets the last one's mark.
func (c *chaosWorld) arm(t *testing.T) {
	t.Helper()
	os.Remove(c.slowMark)
	writeFile(t, c.slowArm, "armed")
}

// push sends a push delivery of commit, the head, to a replica that does
// not lead (any other one when none is known), as GitHub would.
func (c *chaosWorld) push(t *testing.T, commit string) {
	t.Helper()
	body := c.payloads.Load().push
	lead := c.leaderNow(t)
	for _, r := range c.replicas {
		if r != lead && r.alive() {
			code, err := sendDelivery(http.DefaultClient, r.base(), "push", "push-"+commit, body)
			if err == nil && code/100 == 2 {
				return
			}
		}
	}
	t.Fatalf("no replica took the push of %s", commit)
}

func (c *chaosWorld) waitFile(t *testing.T, path, what string) {
	t.Helper()
	waitUntil(t, what, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// store opens the shared store (once), as the test's window on it.
func (c *chaosWorld) store(t *testing.T) *postgres.DB {
	t.Helper()
	if c.st == nil {
		st, err := postgres.Open(context.Background(), c.pg.url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c.st = st
	}
	return c.st
}

// leaseRow is the leader lease as the database has it.
type leaseRow struct {
	holder   string
	token    int64
	acquired time.Time
}

func (c *chaosWorld) lease(t *testing.T) leaseRow {
	t.Helper()
	var l leaseRow
	err := c.sql(t, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(), `SELECT holder, token, acquired_at FROM leader_leases`).Scan(&l.holder, &l.token, &l.acquired)
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// sql runs fn on a connection of its own, retried while the server
// restarts.
func (c *chaosWorld) sql(t *testing.T, fn func(*pgx.Conn) error) error {
	t.Helper()
	var err error
	for range 50 {
		var conn *pgx.Conn
		ctx := context.Background()
		if conn, err = pgx.Connect(ctx, c.pg.url); err == nil {
			err = fn(conn)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// leaderNow is the replica whose /readyz says it leads, or nil.
func (c *chaosWorld) leaderNow(t *testing.T) *chaosReplica {
	t.Helper()
	var found *chaosReplica
	for _, r := range c.replicas {
		if leading, _ := r.readyz(); leading {
			if found != nil {
				t.Errorf("%s and %s both say they lead", found.name, r.name)
			}
			found = r
		}
	}
	return found
}

// waitLeader waits for a replica other than not to lead, and returns it.
func (c *chaosWorld) waitLeader(t *testing.T, not *chaosReplica) *chaosReplica {
	t.Helper()
	var l *chaosReplica
	waitUntil(t, "a leader", func() bool {
		l = c.leaderNow(t)
		return l != nil && l != not
	})
	return l
}

func (c *chaosWorld) waitAllReady(t *testing.T) {
	t.Helper()
	for _, r := range c.replicas {
		waitUntil(t, r.name+" to be ready", func() bool {
			_, ready := r.readyz()
			return ready
		})
	}
}

// waitApplied waits until the plan of commit has a succeeded apply.
func (c *chaosWorld) waitApplied(t *testing.T, commit string) {
	t.Helper()
	waitUntil(t, "the apply of "+commit, func() bool {
		_, ok := c.appliedPlan(t, commit)
		return ok
	})
}

// appliedPlan is the plan of commit that an apply run completed.
func (c *chaosWorld) appliedPlan(t *testing.T, commit string) (string, bool) {
	ctx := context.Background()
	st := c.store(t)
	runs, err := st.ListRuns(ctx, store.RunFilter{RepoID: c.repoID, Kind: store.RunApply})
	if err != nil {
		return "", false
	}
	for _, r := range runs {
		if r.ParentID != "" || r.Status != store.RunSucceeded {
			continue
		}
		if p, err := st.GetPlan(ctx, r.PlanID); err == nil && p.Commit == commit {
			return p.ID, true
		}
	}
	return "", false
}

// waitQuiet waits until nothing is in flight: no queued delivery, no
// unprocessed alert outbox row, no pending alert delivery, no lock held.
func (c *chaosWorld) waitQuiet(t *testing.T) {
	t.Helper()
	var busy [4]int
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.sql(t, func(conn *pgx.Conn) error {
			return conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM webhook_queue), (SELECT count(*) FROM locks WHERE held = 1),
				(SELECT count(*) FROM alert_outbox WHERE processed_at IS NULL), (SELECT count(*) FROM alert_deliveries WHERE status = 'pending')`).
				Scan(&busy[0], &busy[1], &busy[2], &busy[3])
		})
		if err == nil && busy == [4]int{} {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no quiet moment in 2 minutes: queued deliveries, locks, outbox rows, pending alert deliveries: %v (%v)", busy, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkKilledApply checks the apply the kill cut short: the killed
// leader's last apply run was recorded as interrupted when the new leader
// took its target locks over, and none of its target runs is left running
// (a target it finished before the kill stays succeeded, in the ledger).
func (c *chaosWorld) checkKilledApply(t *testing.T, pid int) {
	t.Helper()
	runs, err := c.store(t).ListRuns(context.Background(), store.RunFilter{RepoID: c.repoID, Kind: store.RunApply})
	if err != nil {
		t.Fatal(err)
	}
	var last *store.Run
	for i, r := range runs { // newest first
		if r.Owner.PID == pid && r.ParentID == "" && last == nil {
			last = &runs[i]
		}
	}
	if last == nil {
		t.Fatalf("no apply run of the killed leader (pid %d) in the store", pid)
	}
	if last.Status != store.RunInterrupted {
		t.Errorf("the killed leader's last apply run %s is %s, want interrupted", last.ID, last.Status)
	}
	for _, r := range runs {
		if r.ParentID == last.ID && r.Status != store.RunInterrupted && r.Status != store.RunSucceeded {
			t.Errorf("target run %s of the killed apply is %s, want interrupted (or succeeded before the kill)", r.ID, r.Status)
		}
	}
}

// checkDeliveries: every delivery the load sent was processed exactly
// once (deduplicated in the store), none failed, none is still queued.
func (c *chaosWorld) checkDeliveries(t *testing.T, l *chaosLoad) {
	t.Helper()
	st := c.store(t)
	waitUntil(t, "the delivery queue to drain", func() bool {
		var n int
		err := c.sql(t, func(conn *pgx.Conn) error {
			return conn.QueryRow(context.Background(), `SELECT count(*) FROM webhook_queue`).Scan(&n)
		})
		return err == nil && n == 0
	})
	for _, id := range l.sentIDs() {
		d, err := st.GetDelivery(context.Background(), id)
		if err != nil || d.Status != store.DeliveryProcessed {
			t.Errorf("delivery %s: %+v, %v; want processed", id, d, err)
		}
	}
}

// checkEvents: a client that follows the event feed through whichever
// replica answers got every event the store holds, in order, once.
func (c *chaosWorld) checkEvents(t *testing.T, l *chaosLoad) {
	t.Helper()
	all, err := c.store(t).EventsAfter(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, e := range all {
		want = append(want, e.ID)
	}
	if got := l.eventIDs(); !slices.Equal(got, want) {
		t.Errorf("the feed's follower got %d events, the store holds %d: %v vs %v", len(got), len(want), got, want)
	}
}

// checkAlerts: the outbox is empty, no delivery is pending or dead, the
// sink got every delivered message once, and the run raised and resolved
// alerts (so that none of this is vacuous).
func (c *chaosWorld) checkAlerts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := c.store(t)
	waitUntil(t, "the alert outbox and deliveries to drain", func() bool {
		pending, err := st.PendingOutbox(ctx, 10)
		if err != nil || len(pending) > 0 {
			return false
		}
		ds, err := st.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryPending})
		return err == nil && len(ds) == 0
	})
	dead, err := st.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDead})
	if err != nil || len(dead) > 0 {
		t.Errorf("dead alert deliveries: %+v, %v", dead, err)
	}
	delivered, err := st.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDelivered})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range delivered {
		if n := c.alerts.times(d.Key); n != 1 {
			t.Errorf("alert delivery %d (key %s) reached the sink %d times, want once", d.ID, d.Key, n)
		}
	}
	if len(delivered) == 0 || c.alerts.count() != len(delivered) {
		t.Errorf("%d alert deliveries delivered, the sink got %d messages; want some, and as many", len(delivered), c.alerts.count())
	}
	resolved, err := st.ListAlerts(ctx, store.AlertFilter{State: "resolved"})
	if err != nil || len(resolved) == 0 {
		t.Errorf("no resolved alert (%v): the scaled workloads' warnings should have resolved", err)
	}
}

// checkNothingTwice checks that the Terraform state, the ledger, the
// deploy repository and the audit log agree after everything: each
// target's state holds the ledger's workloads with its replicas at the
// serial the ledger recorded; no target was applied twice for one plan;
// the deploy branch has exactly the commits the audit log recorded.
func (c *chaosWorld) checkNothingTwice(t *testing.T, last string) {
	t.Helper()
	ctx := context.Background()
	st := c.store(t)
	lastPlan, ok := c.appliedPlan(t, last)
	if !ok {
		t.Fatalf("the last commit %s was not applied", last)
	}
	applied, err := st.AppliedTargets(ctx, c.repoID)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.LedgerEntries(ctx, c.repoID)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 2 {
		t.Fatalf("applied targets: %+v, want both sites", applied)
	}
	for _, at := range applied {
		if at.PlanID != lastPlan {
			t.Errorf("%s: last applied plan %s, want %s", at.Target, at.PlanID, lastPlan)
		}
		var raw string
		err := c.sql(t, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT data FROM `+pgx.Identifier{stateSchema(c.repoID, at.Target), "states"}.Sanitize()+` WHERE name = 'default'`).Scan(&raw)
		})
		if err != nil {
			t.Fatalf("%s: the Terraform state in PostgreSQL: %v", at.Target, err)
		}
		var state struct {
			Serial    int64
			Resources []struct {
				Type, Name string
				Instances  []struct {
					IndexKey   string `json:"index_key"`
					Attributes struct {
						Input struct{ Value map[string]any }
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(raw), &state); err != nil {
			t.Fatal(err)
		}
		if state.Serial != at.StateSerial {
			t.Errorf("%s: state serial %d, the ledger recorded %d: something wrote the state after the last apply", at.Target, state.Serial, at.StateSerial)
		}
		got := map[string]int{}
		for _, r := range state.Resources {
			if r.Type != "terraform_data" || r.Name != "deployment" {
				continue
			}
			for _, in := range r.Instances {
				if _, dup := got[in.IndexKey]; dup {
					t.Errorf("%s: %s is in the state twice", at.Target, in.IndexKey)
				}
				n, _ := in.Attributes.Input.Value["replicas"].(float64)
				got[in.IndexKey] = int(n)
			}
		}
		want := map[string]int{}
		for _, e := range entries {
			if e.Target == at.Target && e.Replicas > 0 {
				want[e.Workload] = e.Replicas
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the Terraform state runs %v, the ledger says %v", at.Target, got, want)
		}
	}

	audit, err := st.ListAudit(ctx, store.AuditFilter{RepoID: c.repoID})
	if err != nil {
		t.Fatal(err)
	}
	appliedTwice := map[string]int{}
	var commits []string
	commitSHA := regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	for _, e := range audit {
		switch e.Action {
		case "apply.target":
			if e.Detail == "applied" {
				appliedTwice[e.PlanID+" "+e.Target]++
			}
		case "apply.deploy":
			if strings.HasPrefix(e.Detail, "committed") {
				commits = append(commits, commitSHA.FindAllString(e.Detail, -1)...)
			}
		}
	}
	for k, n := range appliedTwice {
		if n > 1 {
			t.Errorf("plan and target %s applied %d times", k, n)
		}
	}
	log := strings.Fields(git(t, c.dir, "--git-dir", c.deployDir, "rev-list", "--reverse", "main"))
	if !slices.Equal(log, commits) {
		t.Errorf("the deploy branch holds commits %v, the audit log recorded %v", log, commits)
	}
}

// chaosReplica is one `meridian serve` process and its proxy to the
// database.
type chaosReplica struct {
	c     *chaosWorld
	name  string
	addr  string
	args  []string
	proxy *leadertest.Proxy
	logs  *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *chaosWorld) newReplica(name string) *chaosReplica {
	t := c.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, err := url.Parse(c.pg.url)
	if err != nil {
		t.Fatal(err)
	}
	r := &chaosReplica{c: c, name: name, addr: addr, proxy: leadertest.NewProxy(t, u.Host)}
	state := filepath.Join(c.dir, "state-"+name)
	r.args = []string{"serve", "--repo", c.configURL, "--branch", "main", "--listen", addr, "--advertise-url", "http://" + addr,
		"--db", r.proxy.URL(t, c.pg.url), "--state-dir", state, "--cache-dir", filepath.Join(state, "cache"),
		"--terraform-bin", c.tf, "--interval", "5s", "--leader-lease", chaosLease.String(), "--lock-lease", chaosLockLease.String(),
		"--lock-timeout", "1m", "--concurrency", "2", "--alert-lock-age", "0", "--shutdown-timeout", "10s",
		"--webhook-secret-file", c.secretFile, "--github-token-file", c.ghToken, "--github-api-url", c.gh.URL,
		"--github-repo", "Codertocat/Hello-World", "--log-level", "info", "--log-format", "json"}
	if r.logs, err = os.Create(filepath.Join(c.dir, name+".log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.stop()
		r.logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(r.logs.Name())
			t.Logf("log of %s:\n%s", name, tail(b, 80))
		}
	})
	return r
}

// tail is the last n lines of a replica's log, without its request lines.
func tail(b []byte, n int) string {
	var lines []string
	for l := range strings.SplitSeq(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(l, `"msg":"http request"`) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

func (r *chaosReplica) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(r.c.bin, r.args...)
	cmd.Env = append(os.Environ(), "MERIDIAN_CHAOS_ARM="+r.c.slowArm, "MERIDIAN_CHAOS_MARK="+r.c.slowMark)
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	waitUntil(t, r.name+" to serve", func() bool {
		select {
		case <-done:
			t.Fatalf("%s exited at startup", r.name)
		default:
		}
		resp, err := http.Get(r.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
}

func (r *chaosReplica) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd.Process.Pid
}

func (r *chaosReplica) alive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

func (r *chaosReplica) kill(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
}

// stop shuts the replica down as SIGTERM does.
func (r *chaosReplica) stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (r *chaosReplica) base() string { return "http://" + r.addr }

// readyz returns what the replica's /readyz says: whether it leads, and
// whether it is ready.
func (r *chaosReplica) readyz() (leading, ready bool) {
	if !r.alive() {
		return false, false
	}
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(r.base() + "/readyz")
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	var body struct {
		Leader bool `json:"leader"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Leader, resp.StatusCode == http.StatusOK
}

// stoppedLeading reports whether the replica's log says it stepped down
// no later than at.
func (r *chaosReplica) stoppedLeading(t *testing.T, at time.Time) bool {
	t.Helper()
	f, err := os.Open(r.logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "leader election: stepping down" {
			return !line.Time.After(at)
		}
	}
	return false
}

// chaosLoad is the webhook and API load on the replicas.
type chaosLoad struct {
	c      *chaosWorld
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	sent   []string
	events []int64
	api    int
	// apiFailed counts the API answers other than 200 by status
	// ("refused" when the replica was down).
	apiFailed map[string]int
	resent    atomic.Int64
}

type chaosFigures struct {
	api, deliveries, resent, events int
	apiFailed                       map[string]int
}

// startLoad sends webhook deliveries (pull requests and pushes of the
// branch head) at 5 a second to the replicas in turn, resending one that
// got no 2xx to the next replica as GitHub's redelivery would; three API
// clients read the replicas in turn; and a follower of the event feed
// reads it through whichever replica answers.
func (c *chaosWorld) startLoad() *chaosLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &chaosLoad{c: c, cancel: cancel, apiFailed: map[string]int{}}
	hc := &http.Client{Timeout: 30 * time.Second}
	l.wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var hooks sync.WaitGroup
		defer hooks.Wait()
		for n := 0; ctx.Err() == nil; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			id := "chaos-" + strconv.Itoa(n)
			p := c.payloads.Load()
			event, body := "pull_request", p.prs[n%len(p.prs)]
			if n%3 == 2 {
				event, body = "push", p.push
			}
			l.mu.Lock()
			l.sent = append(l.sent, id)
			l.mu.Unlock()
			hooks.Go(func() {
				for try := 0; ; try++ {
					r := c.replicas[(n+try)%len(c.replicas)]
					code, err := sendDelivery(hc, r.base(), event, id, body)
					if err == nil && code/100 == 2 {
						return
					}
					l.resent.Add(1)
					time.Sleep(200 * time.Millisecond)
				}
			})
		}
	})
	paths := []string{"/api/v1/status", "/api/v1/plans", "/api/v1/runs?page_size=5", "/api/v1/locks", "/api/v1/findings"}
	for i := range 3 {
		l.wg.Go(func() {
			for n := i; ctx.Err() == nil; n++ {
				r := c.replicas[n%len(c.replicas)]
				req, _ := http.NewRequest(http.MethodGet, r.base()+paths[n%len(paths)], nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				resp, err := hc.Do(req)
				outcome := "refused" // the replica is down
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					outcome = strconv.Itoa(resp.StatusCode)
				}
				l.mu.Lock()
				l.api++
				if outcome != "200" {
					l.apiFailed[outcome]++
				}
				l.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	l.wg.Go(func() { l.followEvents(ctx, hc) })
	return l
}

// payloads are the load's webhook bodies for the branch head: a
// synchronize of each pull request against it, and its push.
type payloads struct {
	prs  [][]byte
	push []byte
}

// refreshPayloads makes the load's bodies for the current head.
func (c *chaosWorld) refreshPayloads(t *testing.T) {
	t.Helper()
	p := &payloads{push: signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main",
		"after": c.head, "repository.full_name": "Codertocat/Hello-World"})}
	for i, h := range c.prHeads {
		p.prs = append(p.prs, signedPayload(t, "pull_request.synchronize.payload.json", map[string]any{
			"number": 10 + i, "pull_request.number": 10 + i, "pull_request.head.sha": h,
			"pull_request.head.ref": fmt.Sprint("pr-", i), "pull_request.base.sha": c.head, "pull_request.base.ref": "main",
			"repository.full_name": "Codertocat/Hello-World"}))
	}
	c.payloads.Store(p)
}

// followEvents reads the event feed's JSON pages after the last ID seen,
// from each replica in turn, as a dashboard behind a load balancer would.
func (l *chaosLoad) followEvents(ctx context.Context, hc *http.Client) {
	after := int64(0)
	for n := 0; ctx.Err() == nil; n++ {
		r := l.c.replicas[n%len(l.c.replicas)]
		after = l.readEvents(hc, r, after)
		time.Sleep(100 * time.Millisecond)
	}
	// One last read of everything that is left, once the load stopped.
	for _, r := range l.c.replicas {
		after = l.readEvents(hc, r, after)
	}
}

func (l *chaosLoad) readEvents(hc *http.Client, r *chaosReplica, after int64) int64 {
	for {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/events?after=%d&page_size=500", r.base(), after), nil)
		req.Header.Set("Authorization", "Bearer "+l.c.token)
		resp, err := hc.Do(req)
		if err != nil {
			return after
		}
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			}
			NextPageToken string `json:"next_page_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(page.Items) == 0 {
			return after
		}
		l.mu.Lock()
		for _, e := range page.Items {
			if e.ID > after {
				l.events = append(l.events, e.ID)
				after = e.ID
			}
		}
		l.mu.Unlock()
	}
}

// stop ends the load, waits for every delivery to have been taken by a
// replica, and returns the figures.
func (l *chaosLoad) stop(t *testing.T) chaosFigures {
	t.Helper()
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return chaosFigures{api: l.api, apiFailed: maps.Clone(l.apiFailed), deliveries: len(l.sent), resent: int(l.resent.Load()), events: len(l.events)}
}

func (l *chaosLoad) sentIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sent...)
}

func (l *chaosLoad) eventIDs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.events...)
}

// sendDelivery posts one signed webhook delivery and returns the status.
func sendDelivery(hc *http.Client, base, event, id string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set(github.HeaderEvent, event)
	req.Header.Set(github.HeaderDelivery, id)
	req.Header.Set(github.HeaderSignature, github.Sign([]byte(e2eSecret), body))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// alertReceiver is the alert webhook sink: it counts each message by its
// idempotency key.
type alertReceiver struct {
	mu   sync.Mutex
	keys map[string]int
}

func (a *alertReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	a.keys[r.Header.Get(alerting.HeaderIdempotency)]++
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (a *alertReceiver) times(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[key]
}

func (a *alertReceiver) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}

func (a *alertReceiver) duplicates() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, v := range a.keys {
		n += v - 1
	}
	return n
}
