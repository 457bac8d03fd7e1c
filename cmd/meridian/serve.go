package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/netutil"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/leader"
	"github.com/meridianhq/meridian/pricing"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/web"
)

// The SQLite store is the server's store, for the handlers and the loop.
var (
	_ web.Store          = (*sqlite.DB)(nil)
	_ controlplane.Store = (*sqlite.DB)(nil)
)

// Limits of `meridian serve`.
const (
	// maxServeConns caps open connections (idle keep-alives included);
	// past it, new ones wait in the kernel's accept queue.
	maxServeConns = 1024
	// minWebhookSecret is the shortest webhook secret served without a
	// warning: 256 bits, like the API tokens.
	minWebhookSecret = 32
)

// Environment variables of `meridian serve`.
const (
	envWebhookSecret = "MERIDIAN_WEBHOOK_SECRET"
	envGitHubToken   = "GITHUB_TOKEN"
)

// ServeConfig is everything `meridian serve` is told. The zero value of a
// field means its default.
type ServeConfig struct {
	// Repo is the config repo: a directory or a Git URL.
	Repo   string
	Branch string
	// Addr is the listen address (":0" picks a free port; see Main.Addr).
	Addr     string
	Interval time.Duration
	// DriftInterval applies when meridian.yaml has no drift_interval.
	DriftInterval time.Duration
	CacheDir      string
	// StateDir and DB are the store flags shared with apply.
	StateDir, DB string
	// TerraformBin, when empty, is found as `meridian apply` finds it; the
	// server runs without Terraform when there is none, or when
	// NoTerraform is set.
	TerraformBin string
	NoTerraform  bool
	LockTimeout  time.Duration
	LockLease    time.Duration
	Concurrency  int

	WebhookSecret []byte
	GitHubToken   string
	// GitToken is the HTTPS token for the config repo and the deploy repo,
	// sent only to their hosts.
	GitToken     string
	GitHubAPIURL string
	// GitHubRepo (OWNER/NAME) limits the events handled to one repository.
	GitHubRepo string
	// PRTerraformRepos are the repositories whose pull-request heads get
	// Terraform plans, with PRTerraformEnv as their whole environment
	// (plus PATH, HOME and proxies): never the server's apply credentials.
	PRTerraformRepos []string
	PRTerraformEnv   []string
	// DestroyApprovers are the GitHub logins whose `meridian
	// approve-destroy` in a pull request consents to its destruction;
	// WorkspaceRetention is how long orphaned Terraform workspaces are kept.
	DestroyApprovers   []string
	WorkspaceRetention time.Duration
	// PRTerraformUser is the user pull-request Terraform runs as when the
	// server runs as root (default nobody); PRTerraformDir is where its
	// folder is made (default the system temp dir).
	PRTerraformUser, PRTerraformDir string
	ConfigPath                      string
	PublicURL                       string
	MetricsAuth                     bool
	TrustedProxies                  []string
	ShutdownTimeout                 time.Duration
	// PlanTimeout, PRTimeout, ApplyTimeout and DriftTimeout bound one
	// plan, pull-request review, apply and drift check; PRConcurrency is
	// how many reviews run at once (zero: the reconciler's defaults).
	PlanTimeout, PRTimeout, ApplyTimeout, DriftTimeout time.Duration
	PRConcurrency                                      int
	// EventRetention is how long the event feed keeps events (zero: the
	// store's default, 30 days).
	EventRetention time.Duration
	// PlanRetention is how many plans of each ref the store keeps besides
	// the applied ones (zero: store.DefaultPlanRetention; negative: all).
	PlanRetention int
	// Actor names the server in locks, runs and the audit log.
	Actor string
	// AlertBaseURL is the dashboard's base URL, for the links in alerts
	// (empty: no links). AlertLockAge raises a lock_held alert for a
	// target lock held longer (zero: off).
	AlertBaseURL string
	AlertLockAge time.Duration
	// AlertDispatch tunes the alert dispatcher (tests shorten its tick).
	AlertDispatch alerting.DispatcherOptions
	// LeaderLease, AdvertiseURL and SharedStateDir are for replicas on one
	// PostgreSQL store (serve_replicas.go): the leader's lease (default
	// leader.DefaultTTL), the URL at which the others reach this replica,
	// and the operator's word that every replica mounts one state dir.
	LeaderLease    time.Duration
	AdvertiseURL   string
	SharedStateDir bool
	// PeerURLs are the leader URLs this replica forwards plans and
	// applies to, with the client's credentials (web.ParsePeerURLs; empty:
	// web.DerivePeerURLs of the advertise URL).
	PeerURLs []string
	// EdgeSigningKey is the bundle signing key file (default: generated
	// under the state dir); EdgeStaleAfter and EdgeBehindAfter are when a
	// site counts as stale and behind (zero: edge.Options' defaults).
	EdgeSigningKey                  string
	EdgeStaleAfter, EdgeBehindAfter time.Duration
	// PricesRefreshInterval, when positive, makes the leader refresh the
	// price catalog that often into STATE_DIR/prices/catalog.json
	// (docs/pricing.md).
	PricesRefreshInterval time.Duration
	// AuditInterval, when positive, makes the leader run `meridian audit`
	// that often on the branch (docs/audit.md); AuditEndpoint is its
	// --endpoint.
	AuditInterval time.Duration
	AuditEndpoint string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// TracerProvider traces plans, applies, Terraform and webhooks
	// (default: none; serve sets it from the OTEL_* variables).
	TracerProvider trace.TracerProvider
}

// Main is `meridian serve` as a value, in the style of wtf's cmd/wtfd: Run
// opens everything and starts serving, Close shuts down gracefully, so that
// tests boot the whole server in-process with Addr ":0" and t.TempDir().
type Main struct {
	Config ServeConfig
	Logger *slog.Logger

	db        storeDB
	ln        net.Listener
	http      *http.Server
	recon     *controlplane.Reconciler
	server    *web.Server
	metrics   *web.Metrics
	alerts    *alerting.Dispatcher
	repl      *replicas
	edge      *edge.Service
	edgeDone  chan struct{}
	prices    *pricing.Schedule
	audit     *controlplane.Auditor
	cancel    context.CancelFunc
	reconDone chan struct{}
	httpDone  chan error
	// cleanup runs on Close, after the store is closed.
	cleanup []func()
}

// NewMain returns a Main with the defaults filled in.
func NewMain() *Main {
	return &Main{Config: ServeConfig{Branch: "main", Addr: ":8080", Interval: time.Minute, DriftInterval: time.Hour,
		LockLease: 30 * time.Second, Concurrency: 4, ShutdownTimeout: 30 * time.Second, GitHubAPIURL: github.DefaultBaseURL},
		Logger: slog.New(slog.DiscardHandler)}
}

// Run opens the store (creating and migrating it), wires the planner,
// Terraform workflow and GitHub client, starts the reconcile loop (which
// plans the branch head at once) and starts serving. It returns once the
// listener is open; Close stops everything.
func (m *Main) Run(ctx context.Context) (err error) {
	c := &m.Config
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Repo == "" {
		return errors.New("--repo is required")
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	sf := stateFlags{stateDir: c.StateDir, db: c.DB}
	stateDir, err := sf.dir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if m.db, err = sf.open(ctx); err != nil {
		return err
	}
	loc, isURL, err := sf.dbLocation()
	if err != nil {
		return err
	}
	// A repo that cannot be reached yet is still served: the loop records
	// the failure and retries.
	source, err := gitops.SourceName(c.Repo)
	if err != nil {
		source = gitops.RedactURL(c.Repo)
	}
	repoID := store.RepoID(source)
	if err := m.db.EnsureRepo(ctx, store.Repo{ID: repoID, Source: source}); err != nil {
		return err
	}
	log := m.Logger.With("repo", source, "branch", c.Branch)
	// The Git token goes to the config repo's host (gitops.Load) and to
	// the trusted config's deploy repository (gitops/deploy), nowhere else.
	auth := gitops.AuthOptions{Token: c.GitToken, Getenv: c.Getenv}
	loader := controlplane.NewGitLoader(controlplane.GitLoaderOptions{Source: c.Repo, Name: source, Branch: c.Branch, CacheDir: c.CacheDir,
		Auth: auth, Logger: m.Logger, TracerProvider: c.TracerProvider})
	if m.repl, err = m.setupReplicas(ctx, loc, isURL, repoID, func() *controlplane.Reconciler { return m.recon }); err != nil {
		return err
	}
	if err := m.repl.checkStartup(ctx, loader, gitops.BranchRef(c.Branch)); err != nil {
		return err
	}

	// The history (event feed, finding lifecycle, cost history) is written
	// by the loop and the workflows and read by the API; writes wake the
	// live feeds at once.
	// Writes also wake the alert dispatcher, whose outbox rows were
	// written in the same transactions as the events.
	notify := func(id int64) {
		if srv := m.server; srv != nil {
			srv.NotifyEvents(id)
		}
		if d := m.alerts; d != nil {
			d.Notify(id)
		}
	}
	// A new plan of the branch also wakes the edge bundles' builder.
	rec := controlplane.NewRecorder(m.db, controlplane.RecorderOptions{Notify: func(id int64) {
		notify(id)
		if e := m.edge; e != nil {
			e.Wake()
		}
	}})
	// The dispatcher enriches alerts from the reconciler's newest plan;
	// the reconciler is made below, before the dispatcher runs.
	var enrich func(context.Context, *meridian.Alert)
	dopts := c.AlertDispatch
	dopts.Logger = m.Logger
	// A leader sends alerts once it has read alerting.yaml: the outbox
	// waits for it rather than going to no sink.
	dopts.AwaitConfig = true
	dopts.Enrich = func(ctx context.Context, a *meridian.Alert) {
		if enrich != nil {
			enrich(ctx, a)
		}
	}
	m.alerts = alerting.NewDispatcher(m.db, dopts)
	alertCfg := controlplane.NewAlertingLoader(m.alerts, controlplane.AlertingLoaderOptions{Logger: m.Logger,
		Senders: alerting.SenderOptions{BaseURL: c.AlertBaseURL, Logger: m.Logger}})
	wfs, err := m.workflows(ctx, stateDir, auth, rec)
	if err != nil {
		return err
	}
	pl, err := controlplane.NewPlanner(wfs)
	if err != nil {
		return err
	}
	var gh controlplane.GitHub
	if c.GitHubToken != "" {
		cl, err := github.NewClient(c.GitHubToken, github.ClientOptions{BaseURL: c.GitHubAPIURL})
		if err != nil {
			return err
		}
		gh = cl
	} else {
		log.Warn("no GitHub token ($" + envGitHubToken + " or --github-token-file): pull requests are planned but not commented on")
	}
	// One registry for /metrics: the HTTP edge's metrics and the loop's.
	metrics := web.NewMetrics()
	m.metrics = metrics
	m.recon = controlplane.NewReconciler(m.db, loader, pl, wfs.Applier(loader), wfs.DriftChecker(loader), controlplane.ReconcilerOptions{
		RepoID: repoID, Source: source, Branch: c.Branch, Interval: c.Interval, DriftInterval: c.DriftInterval,
		Actor: c.Actor, Logger: m.Logger, Metrics: controlplane.NewMetrics(metrics.Registry), PRConcurrency: c.PRConcurrency, TracerProvider: c.TracerProvider,
		PlanTimeout: c.PlanTimeout, PRTimeout: c.PRTimeout, ApplyTimeout: c.ApplyTimeout, DriftTimeout: c.DriftTimeout, Recorder: rec,
		PR: controlplane.PROptions{GitHub: gh, Repo: c.GitHubRepo, TerraformRepos: c.PRTerraformRepos, ConfigPath: c.ConfigPath, PublicURL: c.PublicURL,
			DestroyApprovers: c.DestroyApprovers},
		Alerting: alertCfg, Locks: m.db, LockAge: c.AlertLockAge, Elected: m.repl.shared, CheckConfig: m.repl.checkConfig,
		Live: c.AuditInterval > 0,
	})
	enrich = m.recon.AlertEnricher(c.AlertBaseURL)
	m.prices = m.setupPrices(stateDir, repoID, loader, notify)
	if c.AuditInterval > 0 {
		m.audit = controlplane.NewAuditor(controlplane.AuditorOptions{RepoID: repoID, Branch: c.Branch, Interval: c.AuditInterval,
			Loader: loader, Ledger: m.db, Drift: m.db, Recorder: rec, Logger: m.Logger,
			// A live finding opened or resolved replans the head now,
			// freezing or freeing its workload, not at the next poll.
			Changed: func(ctx context.Context) {
				if err := m.recon.Sync(ctx); err != nil && ctx.Err() == nil {
					m.Logger.WarnContext(ctx, "replan after audit", "err", err)
				}
			},
			Open: func(ctx context.Context, t *meridian.Target) (inventory.Reader, error) {
				return openInventory(ctx, t, c.AuditEndpoint)
			}})
	}
	if m.edge, err = m.setupEdge(stateDir, repoID, loader, notify); err != nil {
		return err
	}
	metrics.Registry.MustRegister(m.alerts.Collector(), leader.NewCollector(m.repl.election))
	if len(c.WebhookSecret) == 0 {
		log.Warn("no webhook secret ($" + envWebhookSecret + " or --webhook-secret-file): POST /webhooks/github is off")
	} else if len(c.WebhookSecret) < minWebhookSecret {
		// Only the length is logged, never the secret.
		log.Warn("the webhook secret is short: use at least 32 random bytes (e.g. openssl rand -hex 32)", "bytes", len(c.WebhookSecret))
	}
	m.server = web.NewServer(m.db, m.recon, web.Options{WebhookSecret: c.WebhookSecret, MetricsAuth: c.MetricsAuth,
		TrustedProxies: c.TrustedProxies, Logger: m.Logger, Metrics: metrics, TracerProvider: c.TracerProvider,
		Events: web.FeedOptions{Retention: c.EventRetention, Logger: m.Logger}, Configs: loader,
		Alerts: m.alerts, AlertTester: alertCfg, Silences: m.db, Leader: m.repl.election, Queue: m.repl.webQueue(), Peers: m.repl.peers, Edge: m.edge})

	if m.ln, err = net.Listen("tcp", c.Addr); err != nil {
		return fmt.Errorf("listen %s: %w", c.Addr, err)
	}
	// Every limit below bounds what one client (or many) can hold of the
	// server without authenticating: connections, header bytes, and time
	// to send a request or read an answer. WriteTimeout covers the API's
	// request timeout (60s); routes that take longer (an apply; later long
	// polls and event streams) lift their own deadline with
	// http.ResponseController.SetWriteDeadline.
	m.ln = netutil.LimitListener(m.ln, maxServeConns)
	m.http = &http.Server{Handler: m.server.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 90 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel, m.reconDone, m.httpDone = cancel, make(chan struct{}), make(chan error, 1)
	feed := m.server.EventFeed()
	if feed != nil {
		// Open event streams end with the server, not at the end of the
		// shutdown timeout.
		m.http.RegisterOnShutdown(feed.Close)
	}
	// The loop, the alerts and the queued webhooks are the leader's work:
	// at once on SQLite, while elected on PostgreSQL (serve_replicas.go).
	go func() {
		defer close(m.reconDone)
		_ = m.repl.election.Run(loopCtx, func(lctx context.Context) { m.lead(lctx, feed, log) })
	}()
	// Long polls of the edge agents end with the server, and the edge
	// service serves every replica, leader or not.
	m.http.RegisterOnShutdown(m.edge.Close)
	m.edgeDone = make(chan struct{})
	go func() { defer close(m.edgeDone); m.edge.Run(loopCtx) }()
	go func() { m.httpDone <- m.http.Serve(m.ln) }()
	log.Info("serving", "addr", m.Addr(), "state_dir", stateDir, "db", m.db.Path(), "terraform", wfs.Terraform())
	return nil
}

// Wait serves until ctx ends (SIGINT, SIGTERM) or the HTTP server stops
// by itself, then shuts down gracefully (Close).
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case err := <-m.httpDone:
		m.httpDone <- err // Close reads it
	}
	return m.Close()
}

// Addr is the address the server listens on.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Metrics exposes the metrics /metrics serves, for tests.
func (m *Main) Metrics() *web.Metrics { return m.metrics }

// Reconciler exposes the loop, for tests.
func (m *Main) Reconciler() *controlplane.Reconciler { return m.recon }

// Store exposes the store, for tests.
func (m *Main) Store() storeDB { return m.db }

// Close shuts down gracefully: it stops accepting requests and lets those
// in flight finish (up to ShutdownTimeout), then stops the reconcile loop,
// whose current step is interrupted safely (Terraform gets an interrupt,
// target locks are released, the run is recorded as interrupted) and whose
// queued webhook work is recorded as failed so that GitHub can redeliver
// it; last it closes the store.
func (m *Main) Close() error {
	var errs []error
	timeout := m.Config.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down HTTP: %w", err))
		}
		if err := <-m.httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.http = nil
	}
	if m.cancel != nil {
		m.cancel()
		// The loop's step was just interrupted; give it its own grace
		// period to record that and release its locks.
		t := time.NewTimer(timeout)
		select {
		case <-m.reconDone:
			t.Stop()
		case <-t.C:
			// Closing the store under a running step would lose its
			// record; the lease will free its locks instead.
			return errors.Join(append(errs, errors.New("the reconcile loop did not stop in time; store left open"))...)
		}
		m.cancel = nil
		if m.edgeDone != nil {
			<-m.edgeDone
		}
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		m.db = nil
	}
	if m.repl != nil {
		m.repl.close()
		m.repl = nil
	}
	for _, f := range m.cleanup {
		f()
	}
	m.cleanup = nil
	return errors.Join(errs...)
}

// workflows finds Terraform, makes its runners (a sandboxed one for
// allowlisted pull-request heads) and builds the workflows the server
// needs on them.
func (m *Main) workflows(ctx context.Context, stateDir string, auth gitops.AuthOptions, rec *controlplane.Recorder) (*controlplane.Workflows, error) {
	c := &m.Config
	var err error
	o := controlplane.WorkflowsOptions{StateDir: stateDir, LeaseTTL: c.LockLease, LockTimeout: c.LockTimeout,
		Concurrency: min(max(c.Concurrency, 1), 4*runtime.NumCPU()), Actor: c.Actor, Logger: m.Logger, Auth: auth, Recorder: rec,
		PlanRetention: c.PlanRetention, WorkspaceRetention: c.WorkspaceRetention, TracerProvider: c.TracerProvider}
	// With a PostgreSQL store, modules without a backend keep their state
	// in it, where every replica finds it (serve_replicas.go).
	o.Backend = m.repl.backend
	var bin string
	if c.NoTerraform {
		o.NoTerraform = "the server runs with --terraform=false"
	} else if bin, err = terraform.FindBinary(c.TerraformBin, c.Getenv); err != nil {
		if c.TerraformBin != "" {
			return nil, err
		}
		o.NoTerraform = err.Error()
		m.Logger.Warn("no Terraform binary: serving plans without Terraform; apply and drift are off", "err", err)
	}
	if bin == "" {
		return controlplane.NewWorkflows(m.db, o)
	}
	cache := filepath.Join(stateDir, "plugin-cache")
	ropts := terraform.Options{PluginCacheDir: cache, LockTimeout: c.LockTimeout, Logger: m.Logger, Environ: m.repl.tfEnviron,
		TracerProvider: c.TracerProvider}
	if o.Backend != nil {
		ropts.LockTimeout = max(ropts.LockTimeout, pgStateLockWait)
	}
	if o.Runner, err = terraform.New(ctx, bin, ropts); err != nil {
		return nil, err
	}
	if len(c.PRTerraformRepos) > 0 {
		// Pull-request heads run Terraform with an environment of their
		// own, a scratch HOME, and as root another user: never the
		// server's credentials, files or process environment.
		prDir := filepath.Join(stateDir, "pull-requests")
		var sandbox *terraform.Sandbox
		if os.Geteuid() == 0 {
			if sandbox, err = m.prSandbox(); err != nil {
				return nil, err
			}
			prDir = sandbox.WorkDir
		} else {
			m.Logger.Warn("pull-request Terraform runs as the server's own user: it cannot read the server's environment's secrets (they are removed from it) but can read the server's files; run as root with --pr-terraform-user to separate them, see docs/security.md")
			if err := os.MkdirAll(filepath.Join(prDir, "home"), 0o700); err != nil {
				return nil, fmt.Errorf("pull-request Terraform home: %w", err)
			}
		}
		prRunner, err := terraform.New(ctx, bin, terraform.Options{PluginCacheDir: filepath.Join(prDir, "plugin-cache"), LockTimeout: c.LockTimeout,
			Logger: m.Logger, Environ: prEnviron(os.Environ(), c.PRTerraformEnv, filepath.Join(prDir, "home")), Sandbox: sandbox})
		if err != nil {
			return nil, err
		}
		// Their workspaces and plan files live apart from the server's,
		// so that a module never sees the local state of applied targets.
		o.PRRunner, o.PRStateDir = prRunner, prDir
	}
	return controlplane.NewWorkflows(m.db, o)
}

// prEnviron is the environment of pull-request Terraform runs: what a
// process needs to run at all, a scratch HOME (so that no credentials file
// under the server's HOME is found), plus the operator's plan-only
// variables. Cloud credentials of the server's own environment are not
// passed on.
func prEnviron(parent, extra []string, home string) []string {
	keep := map[string]bool{"PATH": true, "TMPDIR": true, "LANG": true, "HTTP_PROXY": true, "HTTPS_PROXY": true,
		"NO_PROXY": true, "http_proxy": true, "https_proxy": true, "no_proxy": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true}
	out := []string{"HOME=" + home}
	for _, kv := range parent {
		if k, _, ok := strings.Cut(kv, "="); ok && keep[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// prSandbox prepares the folders of sandboxed pull-request Terraform: a
// fresh folder under the system temp dir (the state dir usually sits in
// root's HOME, which the sandbox user cannot enter), removed on Close.
func (m *Main) prSandbox() (*terraform.Sandbox, error) {
	c := &m.Config
	name := c.PRTerraformUser
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--pr-terraform-user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("--pr-terraform-user %s: need an unprivileged user with numeric IDs, got uid %s gid %s", name, u.Uid, u.Gid)
	}
	dir, err := os.MkdirTemp(c.PRTerraformDir, "meridian-pr-terraform-")
	if err != nil {
		return nil, fmt.Errorf("pull-request Terraform dir: %w", err)
	}
	m.cleanup = append(m.cleanup, func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pull-request Terraform dir: %w", err)
	}
	return &terraform.Sandbox{UID: uid, GID: gid, BinDir: filepath.Join(dir, "bin"), WorkDir: filepath.Join(dir, "work")}, nil
}

// readEnvFile reads KEY=VALUE lines (blank lines and # comments skipped).
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, ok := strings.Cut(line, "="); !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// readSecretFile reads a secret from a file, trimming one trailing newline.
func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

func newServeCmd(a *app) *cobra.Command {
	m := NewMain()
	c := &m.Config
	var sf stateFlags
	var tff terraformFlags
	var secretFile, tokenFile, prEnvFile, gitTokenFile string
	var sc serveConfigFlags
	cmd := &cobra.Command{
		Use:   "serve --repo URL|PATH [--branch main] [--listen :8080] [--state-dir DIR] [--db FILE]",
		Short: "Run the control plane: plan every commit, report on pull requests, apply on merge",
		Long: `serve runs Meridian continuously against a config repo (see docs/server.md):

  - it plans the branch head at startup, then every new commit, polling every
    --interval or at once on a push webhook;
  - with auto_apply: true in meridian.yaml it applies each new commit's plan
    (apply on merge), and it checks drift every drift_interval;
  - on pull requests it posts one comment (cost before and after, placement
    changes, policy findings, deploy and Terraform diffs) and a commit status;
  - it serves the JSON API under /api/v1 (bearer tokens: meridian token
    create), /healthz, /readyz and Prometheus /metrics.

The store is the one apply uses (--state-dir, --db). The webhook secret
comes from $` + envWebhookSecret + ` or --webhook-secret-file; without one the webhook
endpoint is off. The GitHub token comes from $` + envGitHubToken + ` or --github-token-file.

SIGTERM or SIGINT shuts down gracefully.`,
		Args: cobra.NoArgs,
		// The configuration file and the MERIDIAN_* variables fill in the
		// flags before the root's hook reads --log-level and --log-format.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := sc.load(cmd, os.Getenv); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			return cmd.Root().PersistentPreRunE(cmd, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.StateDir, c.DB = sf.stateDir, sf.db
			c.TerraformBin, c.LockTimeout, c.LockLease, c.Concurrency = tff.bin, tff.lockTimeout, tff.lease, tff.concurrency
			switch tff.mode {
			case "false":
				c.NoTerraform = true
			case "true":
				if c.TerraformBin == "" {
					if _, err := terraform.FindBinary("", os.Getenv); err != nil {
						return &exitErr{code: exitError, err: err}
					}
				}
			}
			m.Logger = a.logger
			if c.Actor == "" {
				c.Actor = "serve:" + owner().Actor
			}
			c.WebhookSecret = []byte(os.Getenv(envWebhookSecret))
			if secretFile != "" {
				s, err := readSecretFile(secretFile)
				if err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--webhook-secret-file: %w", err)}
				}
				if len(s) == 0 {
					// Asked for a secret and got none: serving with the
					// webhook silently off would hide the mistake.
					return &exitErr{code: exitError, err: fmt.Errorf("--webhook-secret-file %s is empty", secretFile)}
				}
				c.WebhookSecret = s
			}
			c.GitHubToken = os.Getenv(envGitHubToken)
			if tokenFile != "" {
				s, err := readSecretFile(tokenFile)
				if err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--github-token-file: %w", err)}
				}
				c.GitHubToken = string(s)
			}
			if prEnvFile != "" {
				env, err := readEnvFile(prEnvFile)
				if err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--pr-terraform-env-file: %w", err)}
				}
				c.PRTerraformEnv = env
			}
			c.GitToken = os.Getenv(gitops.DefaultTokenEnv)
			if gitTokenFile != "" {
				s, err := readSecretFile(gitTokenFile)
				if err != nil {
					return &exitErr{code: exitError, err: fmt.Errorf("--git-token-file: %w", err)}
				}
				c.GitToken = string(s)
			}
			if sc.print {
				return printServeConfig(a.stdout, cmd.Flags(), sc.file, os.Getenv, sc.cliSet, serveSecrets(c, secretFile, tokenFile, gitTokenFile))
			}
			c.TracerProvider = a.tracerProvider()
			// Meridian's own secrets now live in c: no child process
			// (Terraform, Git hooks) may inherit them.
			for _, k := range []string{envWebhookSecret, envGitHubToken, gitops.DefaultTokenEnv} {
				os.Unsetenv(k)
			}
			ctx := cmd.Context()
			if err := m.Run(ctx); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			fmt.Fprintf(a.stderr, "meridian: serving %s (branch %s) on %s\n", gitops.RedactURL(c.Repo), c.Branch, m.Addr())
			return m.Wait(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Repo, "repo", "", "config repo: a directory or a Git URL")
	f.StringVar(&c.Branch, "branch", c.Branch, "branch to plan, apply and compare pull requests against")
	f.StringVar(&c.Addr, "listen", c.Addr, "listen address")
	f.DurationVar(&c.Interval, "interval", c.Interval, "how often to poll the branch (a push webhook wakes it at once)")
	f.DurationVar(&c.DriftInterval, "drift-interval", c.DriftInterval, "how often to check drift when meridian.yaml has no drift_interval")
	f.DurationVar(&c.AuditInterval, "audit-interval", 0, "run meridian audit on the branch this often: live findings and drift of the targets' accounts (0: off)")
	f.StringVar(&c.AuditEndpoint, "audit-endpoint", "", "the scheduled audit's --endpoint (tests, private mirrors)")
	f.DurationVar(&c.PricesRefreshInterval, "prices-refresh-interval", 0, "refresh the price catalog from the cloud price APIs this often into STATE_DIR/prices/catalog.json (0: off)")
	f.StringVar(&c.CacheDir, "cache-dir", "", "where Git clones are cached (default: ~/.cache/meridian/repos)")
	f.StringVar(&secretFile, "webhook-secret-file", "", "file holding the GitHub webhook secret (default $"+envWebhookSecret+")")
	f.StringVar(&gitTokenFile, "git-token-file", "", "file holding the HTTPS token for the config and deploy repositories (default $"+gitops.DefaultTokenEnv+"); it is sent only to their hosts")
	f.StringVar(&tokenFile, "github-token-file", "", "file holding the GitHub token for comments and statuses (default $"+envGitHubToken+")")
	f.StringVar(&c.GitHubAPIURL, "github-api-url", c.GitHubAPIURL, "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3)")
	f.StringVar(&c.GitHubRepo, "github-repo", "", "handle only events of this repository (OWNER/NAME)")
	f.StringSliceVar(&c.PRTerraformRepos, "pr-terraform-repos", nil, "repositories (OWNER/NAME) whose pull-request heads get Terraform plans; others are planned without Terraform")
	f.StringVar(&prEnvFile, "pr-terraform-env-file", "", "KEY=VALUE file: the environment (read-only credentials) of pull-request Terraform plans")
	f.StringVar(&c.PRTerraformUser, "pr-terraform-user", "nobody", "when serving as root: the unprivileged user pull-request Terraform runs as")
	f.StringVar(&c.PRTerraformDir, "pr-terraform-dir", "", "when serving as root: where the sandbox folder of pull-request Terraform is made (default the system temp dir; every folder above it must be searchable by --pr-terraform-user)")
	f.StringVar(&c.ConfigPath, "config-path", "", "the config root's folder inside the GitHub repository, for links to files")
	f.StringVar(&c.PublicURL, "public-url", "", "the server's external URL, for links in statuses and comments")
	f.BoolVar(&c.MetricsAuth, "metrics-auth", false, "require a viewer token for /metrics")
	f.StringSliceVar(&c.TrustedProxies, "trusted-proxy", nil, "CIDR of a reverse proxy whose X-Forwarded-For is trusted for client IPs")
	f.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long requests in flight may take to finish on shutdown")
	f.DurationVar(&c.PlanTimeout, "plan-timeout", 15*time.Minute, "time budget of one plan (policies, forecasts, placement, Terraform plan)")
	f.DurationVar(&c.PRTimeout, "pr-timeout", 15*time.Minute, "time budget of one pull-request review")
	f.DurationVar(&c.ApplyTimeout, "apply-timeout", 2*time.Hour, "time budget of one apply")
	f.DurationVar(&c.DriftTimeout, "drift-timeout", time.Hour, "time budget of one drift check")
	f.IntVar(&c.PRConcurrency, "pr-concurrency", 2, "pull-request reviews planned at once; more wait their turn")
	f.StringVar(&c.AlertBaseURL, "alert-base-url", "", "the dashboard's base URL, for links in alerts (BASE/workloads/NAME, BASE/findings?rule=...)")
	f.DurationVar(&c.AlertLockAge, "alert-lock-age", time.Hour, "raise a lock_held alert for a target lock held longer than this (0: never)")
	f.DurationVar(&c.EventRetention, "event-retention", store.DefaultEventRetention, "how long the event feed (GET /api/v1/events) keeps events")
	f.DurationVar(&c.LeaderLease, "leader-lease", leader.DefaultTTL, "with a PostgreSQL store: the leader's lease; another replica takes over at most this long after the leader stops renewing it, and a leader cut off from the database stops its work a third of it before")
	f.StringVar(&c.AdvertiseURL, "advertise-url", "", "with a PostgreSQL store: the URL at which the other replicas reach this one, to forward plans and applies while it leads (default http://HOST:PORT of --listen, or of this host's name)")
	f.StringSliceVar(&c.PeerURLs, "peer-urls", nil, "with a PostgreSQL store: the leader URLs this replica forwards plans and applies to, with the client's credentials: origins http(s)://HOST[:PORT], *.SUFFIX for one DNS label, dns+http(s)://NAME:PORT for the addresses NAME resolves to (default: this replica's --advertise-url and its siblings; see docs/server.md)")
	f.BoolVar(&c.SharedStateDir, "shared-state-dir", false, "with a PostgreSQL store: every replica mounts this --state-dir from one shared volume, so local deploy repositories and modules with the local backend are shared too")
	f.StringSliceVar(&c.DestroyApprovers, "destroy-approvers", nil, "GitHub logins whose \"meridian approve-destroy\" comment or review in a pull request consents to destroying what it removes from the config")
	f.DurationVar(&c.WorkspaceRetention, "workspace-retention", controlplane.DefaultWorkspaceRetention, "remove orphaned Terraform workspaces (no target, no state) after this long; 0 keeps them")
	f.StringVar(&c.EdgeSigningKey, "edge-signing-key", "", "PEM file of the ECDSA P-256 key that signs edge bundles (default: generated under the state dir on first start; see docs/edge.md)")
	f.DurationVar(&c.EdgeStaleAfter, "edge-stale-after", 3*time.Minute, "an edge site that has not reported its status for this long is stale")
	f.DurationVar(&c.EdgeBehindAfter, "edge-behind-after", time.Minute, "an edge site that has not activated the branch head this long after its bundle was built is behind")
	registerPlanRetention(f, &c.PlanRetention)
	_ = cmd.MarkFlagRequired("repo")
	sc.register(cmd)
	sf.register(cmd)
	tff.register(cmd, true)
	return cmd
}
