package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/meridianhq/meridian/controlplane"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
	"github.com/meridianhq/meridian/web"
)

// envStateDir overrides the default state dir.
const envStateDir = "MERIDIAN_STATE_DIR"

// envDB names the store when --db is not given: a SQLite file or a
// postgres:// URL.
const envDB = "MERIDIAN_DB"

// storeDB is what the commands need of a store, and what every backend
// gives: the store itself, the server's records (web.Store with sessions,
// history and the dashboard's counts, controlplane.Store), and a name for
// logs and messages that holds no secret.
type storeDB interface {
	store.Store
	web.Store
	web.SessionStore
	web.HistoryStore
	controlplane.Store
	store.EdgeSites
	CountOpenDrift(ctx context.Context, repoID string) (int, error)
	CountFindings(ctx context.Context, repoID, branch string, state meridian.FindingState) (map[meridian.Severity]int, error)
	// Path is the database file, or the URL with its password redacted.
	Path() string
}

var (
	_ storeDB = (*sqlite.DB)(nil)
	_ storeDB = (*postgres.DB)(nil)
)

// stateFlags are how apply, drift, unlock, token and serve name the state
// dir and the store, so that they all share one store and their locks
// exclude each other.
type stateFlags struct {
	stateDir string
	db       string
	// planRetention is --plan-retention, for the commands that save plans
	// (workflow.Options.PlanRetention).
	planRetention int
}

func (f *stateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.stateDir, "state-dir", "",
		"folder for Terraform workspaces, plan files, state backups and the store (default $"+envStateDir+
			", else $XDG_STATE_HOME/meridian, else ~/.local/state/meridian)")
	cmd.Flags().StringVar(&f.db, "db", "", "the store: a SQLite file or a postgres:// URL (default $"+envDB+", else <state-dir>/meridian.db)")
}

// defaultStateDir is where Meridian keeps local state unless told
// otherwise: per user, outside any repo, and stable across working
// directories so that every command finds the same store.
func defaultStateDir() (string, error) {
	if d := os.Getenv(envStateDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "meridian"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default state dir: pass --state-dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "meridian"), nil
}

func (f *stateFlags) dir() (string, error) {
	d := f.stateDir
	if d == "" {
		var err error
		if d, err = defaultStateDir(); err != nil {
			return "", err
		}
	}
	return filepath.Abs(d)
}

// dbLocation is where the store lives: a SQLite file (made absolute), or
// a PostgreSQL URL (isURL). A value that looks like any other URL or
// connection string is an error: taken as a file name, it would quietly
// make a SQLite file named after it (with its password in the name).
func (f *stateFlags) dbLocation() (loc string, isURL bool, err error) {
	db := f.db
	if db == "" {
		db = os.Getenv(envDB)
	}
	if db == "" {
		d, err := f.dir()
		if err != nil {
			return "", false, err
		}
		return filepath.Join(d, "meridian.db"), false, nil
	}
	if scheme, ok := urlScheme(db); ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return db, true, nil
		}
		return "", false, meridian.Errorf(meridian.EINVALID,
			"--db %s: unknown scheme %q: the store is a SQLite file or a postgres:// URL", postgres.Redact(db), scheme)
	}
	if looksLikeDSN.MatchString(db) {
		// Not echoed: the part before the @ may be a password.
		return "", false, meridian.Errorf(meridian.EINVALID,
			"--db: the value looks like a connection string without a scheme (user:password@host): the store is a SQLite file or a postgres:// URL")
	}
	p, err := filepath.Abs(db)
	return p, false, err
}

var (
	// schemeURL is scheme:// as RFC 3986 spells a scheme.
	schemeURL = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// looksLikeDSN is user:password@host with no scheme in front.
	looksLikeDSN = regexp.MustCompile(`^[^/@:]+:[^/@]*@[^/@]+`)
)

func urlScheme(s string) (string, bool) {
	m := schemeURL.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// open opens (creating or migrating) the store.
func (f *stateFlags) open(ctx context.Context) (storeDB, error) {
	loc, isURL, err := f.dbLocation()
	if err != nil {
		return nil, err
	}
	if isURL {
		return postgres.Open(ctx, loc, postgres.Options{})
	}
	return sqlite.Open(ctx, loc, sqlite.Options{})
}

// openExisting opens the store only if it exists, so that `meridian plan`
// reads the ledger without creating files on a machine that never applied.
// A PostgreSQL store is a server someone set up: it is always opened.
func (f *stateFlags) openExisting(ctx context.Context) (storeDB, error) {
	loc, isURL, err := f.dbLocation()
	if err != nil {
		return nil, err
	}
	if !isURL {
		if _, err := os.Stat(loc); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	return f.open(ctx)
}

// terraformFlags select the binary and tune locking and concurrency.
type terraformFlags struct {
	bin         string
	mode        string // plan only: auto, true or false
	lockTimeout time.Duration
	lease       time.Duration
	concurrency int
}

func (f *terraformFlags) register(cmd *cobra.Command, forPlan bool) {
	cmd.Flags().StringVar(&f.bin, "terraform-bin", "", "terraform or tofu binary (default $"+terraform.EnvBinary+", else terraform or tofu on PATH)")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "targets planned or applied at once")
	cmd.Flags().DurationVar(&f.lockTimeout, "lock-timeout", 0, "wait this long for a target locked by another run (default: fail at once, naming the holder)")
	cmd.Flags().DurationVar(&f.lease, "lock-lease", 30*time.Second, "lease of the target locks this run holds, renewed while it runs; a killed run blocks its targets this long")
	if forPlan {
		cmd.Flags().StringVar(&f.mode, "terraform", "auto", "add Terraform's change summary: auto (when a binary is found), true (require one) or false")
		cmd.Flags().Lookup("terraform").NoOptDefVal = "true"
	}
}

// owner names this process in locks, runs and the audit log.
func owner() store.Owner {
	host, _ := os.Hostname()
	actor := os.Getenv("MERIDIAN_ACTOR")
	if actor == "" {
		if u, err := user.Current(); err == nil {
			actor = u.Username
		} else {
			actor = "unknown"
		}
	}
	return store.Owner{Host: host, PID: os.Getpid(), Actor: actor}
}

// openWorkflow finds and checks the binary, opens the store and returns a
// Workflow on them. The caller closes the store.
func (a *app) openWorkflow(ctx context.Context, sf *stateFlags, tf *terraformFlags) (*workflow.Workflow, storeDB, error) {
	bin, err := terraform.FindBinary(tf.bin, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	return a.workflowWith(ctx, sf, tf, bin)
}

func (a *app) workflowWith(ctx context.Context, sf *stateFlags, tf *terraformFlags, bin string) (*workflow.Workflow, storeDB, error) {
	dir, err := sf.dir()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state dir: %w", err)
	}
	ropts := terraform.Options{PluginCacheDir: filepath.Join(dir, "plugin-cache"), LockTimeout: tf.lockTimeout, Logger: a.logger,
		TracerProvider: a.tracerProvider()}
	// With a PostgreSQL store, modules without a backend keep their state
	// in it, as the server's do (serve_replicas.go).
	var backend *workflow.Backend
	if loc, isURL, err := sf.dbLocation(); err == nil && isURL {
		backend, ropts.Environ = pgTerraform(loc)
		ropts.LockTimeout = max(ropts.LockTimeout, pgStateLockWait)
	}
	r, err := terraform.New(ctx, bin, ropts)
	if err != nil {
		return nil, nil, err
	}
	db, err := sf.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Target locks become lock.* events of the history, as the server's do.
	st := controlplane.LockEvents(db, controlplane.NewRecorder(db, controlplane.RecorderOptions{}), a.logger)
	wf, err := workflow.New(st, r, workflow.Options{StateDir: dir, Owner: owner(), LeaseTTL: tf.lease, LockTimeout: tf.lockTimeout,
		Concurrency: min(max(tf.concurrency, 1), 4*runtime.NumCPU()), Logger: a.logger, PlanRetention: sf.planRetention, Backend: backend,
		TracerProvider: a.tracerProvider()})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	a.logger.Debug("terraform", "binary", r.Path(), "version", r.Version(), "state_dir", dir, "db", db.Path())
	return wf, db, nil
}

// source describes a loaded repo for the workflow.
func source(l *loaded, ref string) (workflow.Source, error) {
	digest, err := workflow.TreeDigest(l.snap.FS)
	if err != nil {
		return workflow.Source{}, err
	}
	if l.snap.Ref != "" {
		ref = l.snap.Ref
	}
	return workflow.Source{Source: l.snap.Source, Ref: ref, Commit: l.snap.Commit, Dirty: l.snap.Dirty, TreeDigest: digest}, nil
}

// planTerraform is what `meridian plan` needs to add Terraform's view and
// the applied-state ledger to a plan. Use it as:
//
//	tp, err := a.planTerraform(ctx, &sf, &tff, l, rf.ref)
//	...
//	defer tp.close()
//	p, err := planner.New(append(opts, tp.options()...)...)
//	plan, err := p.Plan(ctx, planner.Input{..., Current: tp.current})
//	if err == nil { err = tp.save(ctx, plan) }
type planTerraform struct {
	current map[string][]string
	opt     planner.Option
	sess    *workflow.Session
	db      storeDB
	err     error
	// discard makes save skip the plan: `meridian plan` stores the plans
	// of a Git repository, whose plans `meridian apply PLAN_ID` can check
	// against their commit, and a folder's only with --save.
	discard bool
}

// planTerraform prepares the Terraform side of `meridian plan`. With no
// binary (and --terraform auto) the plan gets a warn finding instead, and
// nothing is created on disk unless a store already exists.
func (a *app) planTerraform(ctx context.Context, sf *stateFlags, tff *terraformFlags, l *loaded, ref string) (*planTerraform, error) {
	tp := &planTerraform{}
	var bin string
	switch tff.mode {
	case "false":
	case "auto", "true", "":
		var err error
		bin, err = terraform.FindBinary(tff.bin, os.Getenv)
		if err != nil && (tff.mode == "true" || tff.bin != "") {
			return nil, err
		}
		if err != nil {
			tp.opt = planner.WithTerraform(planner.NoTerraform{Reason: err.Error()})
		}
	default:
		return nil, fmt.Errorf("--terraform must be auto, true or false, got %q", tff.mode)
	}
	if bin == "" {
		// The ledger is all a plan without Terraform needs: not the
		// source's digest, which reads the whole repo once more.
		db, err := sf.openExisting(ctx)
		if err != nil {
			return nil, err
		}
		if db != nil {
			defer db.Close()
			if tp.current, err = workflow.Current(ctx, db, store.RepoID(l.snap.Source)); err != nil {
				return nil, err
			}
		}
		return tp, nil
	}
	src, err := source(l, ref)
	if err != nil {
		return nil, err
	}
	wf, db, err := a.workflowWith(ctx, sf, tff, bin)
	if err != nil {
		return nil, err
	}
	tp.db = db
	if tp.current, err = workflow.Current(ctx, db, src.RepoID()); err != nil {
		tp.close()
		return nil, err
	}
	if tp.sess, err = wf.Begin(ctx, store.RunPlan, src, workflow.ModePlan); err != nil {
		tp.close()
		return nil, err
	}
	tp.opt = planner.WithTerraform(tp.sess)
	return tp, nil
}

func (tp *planTerraform) options() []planner.Option {
	if tp.opt == nil {
		return nil
	}
	return []planner.Option{tp.opt}
}

// save stores a plan made with Terraform, so that `meridian apply PLAN_ID`
// can apply it, unless the plan is not to be kept.
func (tp *planTerraform) save(ctx context.Context, plan *meridian.Plan) error {
	if tp.sess == nil || tp.discard {
		return nil
	}
	tp.err = tp.sess.SavePlan(ctx, plan)
	return tp.err
}

func (tp *planTerraform) close() {
	if tp.sess != nil {
		tp.sess.Close(tp.err, nil)
	}
	if tp.db != nil {
		tp.db.Close()
	}
}

// planRetentionFlag is --plan-retention: how many plans of each ref the
// store keeps besides the applied ones, where 0 keeps every plan. It
// holds workflow.Options.PlanRetention's value, in which keeping every
// plan is negative and zero is the default.
type planRetentionFlag struct{ n *int }

func (v planRetentionFlag) String() string {
	switch {
	case v.n == nil:
		return ""
	case *v.n < 0:
		return "0"
	case *v.n == 0:
		return strconv.Itoa(store.DefaultPlanRetention)
	}
	return strconv.Itoa(*v.n)
}

func (v planRetentionFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a whole number of plans, 0 or more, got %q", s)
	}
	if n == 0 {
		n = -1
	}
	*v.n = n
	return nil
}

func (v planRetentionFlag) Type() string { return "int" }

func registerPlanRetention(f *pflag.FlagSet, n *int) {
	f.Var(planRetentionFlag{n}, "plan-retention",
		"saved plans kept per branch or pull request besides the applied ones and those in use; older ones and their plan files are deleted (0: keep every plan)")
}
