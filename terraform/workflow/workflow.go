package workflow

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/terraform"
)

// Store is what the workflow needs from the store.
type Store interface {
	store.Repos
	store.Plans
	store.PlanRetention
	store.Runs
	store.Locks
	store.Ledger
	store.Audit
	store.Decommissions
}

// Options tunes a Workflow. Zero values mean the defaults.
type Options struct {
	// StateDir holds workspaces, plan files and state backups. Required.
	StateDir string
	// Owner identifies this process in locks and runs.
	Owner store.Owner
	// LeaseTTL is how long a lock survives without renewal (default 30s):
	// how long a killed meridian blocks its targets.
	LeaseTTL time.Duration
	// LockTimeout is how long to wait for a held target lock (default 0:
	// fail at once, naming the holder).
	LockTimeout time.Duration
	// Concurrency bounds the targets worked on at once (default 4).
	Concurrency int
	// PlanRetention is how many of the newest plans of each ref are kept
	// when a plan is saved (default store.DefaultPlanRetention; negative
	// keeps every plan). Applied plans and plans in use are always kept;
	// see store.PlanRetention.
	PlanRetention int
	// Backend, when set, keeps the state of each module that declares no
	// backend in a shared backend rather than in the target's workspace
	// (see Backend).
	Backend *Backend
	// Logger receives progress (default: discard).
	Logger *slog.Logger
	// TracerProvider traces applies and each target's plan and apply
	// (default: no tracing).
	TracerProvider trace.TracerProvider
}

// Workflow runs Terraform for plans. It is safe for concurrent use.
type Workflow struct {
	st     Store
	tf     *terraform.Runner
	opts   Options
	log    *slog.Logger
	tracer trace.Tracer
}

// New returns a Workflow on st and the Terraform binary tf.
func New(st Store, tf *terraform.Runner, opts Options) (*Workflow, error) {
	if opts.StateDir == "" {
		return nil, fmt.Errorf("workflow: StateDir is required")
	}
	abs, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("workflow: state dir: %w", err)
	}
	opts.StateDir = abs
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 30 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.PlanRetention == 0 {
		opts.PlanRetention = store.DefaultPlanRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Workflow{st: st, tf: tf, opts: opts, log: opts.Logger, tracer: telemetry.Tracer(opts.TracerProvider, "terraform/workflow")}, nil
}

// Store returns the workflow's store.
func (w *Workflow) Store() Store { return w.st }

// TerraformTargets returns the targets Terraform applies: engine terraform
// with a module, sorted by name. Others go out through GitOps only.
func TerraformTargets(cfg *meridian.Config) []*meridian.Target {
	var out []*meridian.Target
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if t.Engine == meridian.EngineTerraform && t.Terraform != nil && t.Terraform.Module != "" {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TreeDigest hashes every file of the config repo (skipping hidden
// folders such as .git), so that a plan of a working tree goes stale when
// any file changes, even without a new commit.
func TreeDigest(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash config repo: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (w *Workflow) workspaceDir(repoID, target string) string {
	return filepath.Join(w.opts.StateDir, "workspaces", repoID, target)
}

// planRel is a plan target's artefact folder, relative to the state dir.
func planRel(repoID, planID, target string) string {
	return filepath.ToSlash(filepath.Join("plans", repoID, planID, target))
}

// plansDir is the folder of a repo's plan artefacts, one folder per plan.
func (w *Workflow) plansDir(repoID string) string {
	return filepath.Join(w.opts.StateDir, "plans", repoID)
}

func (w *Workflow) abs(rel string) string {
	return filepath.Join(w.opts.StateDir, filepath.FromSlash(rel))
}

func (w *Workflow) backupPath(repoID, target string, serial int64, runID string) string {
	return filepath.Join(w.opts.StateDir, "backups", repoID, target, fmt.Sprintf("%06d-%s.tfstate", serial, safe(runID)))
}

func safe(s string) string { return strings.NewReplacer("/", "_", "\\", "_").Replace(s) }

// newID returns a random run ID with a sortable time prefix.
func newID(kind store.RunKind, now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", kind, now.UTC().Format("20060102T150405"), hex.EncodeToString(b[:]))
}
