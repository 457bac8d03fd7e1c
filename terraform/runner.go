package terraform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-exec/tfexec"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian/telemetry"
)

// MinVersion is the oldest Terraform that has everything Meridian's modules
// use (terraform_data, check blocks). OpenTofu's versions start at 1.6.
var MinVersion = version.Must(version.NewVersion("1.5.0"))

// Options tunes a Runner. The zero value is usable.
type Options struct {
	// PluginCacheDir is the provider cache every workspace shares. Empty
	// means no cache.
	PluginCacheDir string
	// Environ is the parent environment (default os.Environ()).
	Environ []string
	// LockTimeout is how long Terraform waits for its own state lock.
	LockTimeout time.Duration
	// Logger receives each Terraform command at debug level.
	Logger *slog.Logger
	// Sandbox, when set, runs every Terraform command as another user
	// (see Sandbox).
	Sandbox *Sandbox
	// TracerProvider traces init, plan and apply (default: no tracing).
	TracerProvider trace.TracerProvider
}

// Runner is a located, version-checked Terraform binary. It is safe for
// concurrent use; each Workspace must be used by one goroutine at a time.
type Runner struct {
	path        string
	version     *version.Version
	env         map[string]string
	lockTimeout string
	logger      *slog.Logger
	cacheDir    string
	sandbox     *Sandbox
	tracer      trace.Tracer
	// initMu serializes init in this process: Terraform's plugin cache is
	// not safe for concurrent writers. A file lock covers other processes.
	initMu sync.Mutex
}

// New checks that the binary at path runs and is new enough.
func New(ctx context.Context, path string, opts Options) (*Runner, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("terraform binary %s: %w", path, err)
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PluginCacheDir != "" {
		if err := os.MkdirAll(opts.PluginCacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("plugin cache: %w", err)
		}
	}
	r := &Runner{path: abs, env: Env(opts.Environ, opts.PluginCacheDir), logger: opts.Logger, cacheDir: opts.PluginCacheDir, sandbox: opts.Sandbox,
		tracer: telemetry.Tracer(opts.TracerProvider, "terraform")}
	if opts.LockTimeout > 0 {
		r.lockTimeout = fmt.Sprintf("%ds", int(opts.LockTimeout.Round(time.Second).Seconds()))
	}
	tmpRoot := ""
	if s := opts.Sandbox; s != nil {
		if r.path, err = s.prepare(abs); err != nil {
			return nil, err
		}
		s.env(r.env)
		tmpRoot = s.tmp()
	}
	dir, err := os.MkdirTemp(tmpRoot, "meridian-tf-version-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := r.handOver(dir); err != nil {
		return nil, err
	}
	tf, err := r.exec(dir)
	if err != nil {
		return nil, err
	}
	v, _, err := tf.Version(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("terraform binary %s: version: %w", abs, err)
	}
	if v.LessThan(MinVersion) {
		return nil, fmt.Errorf("terraform binary %s is version %s; Meridian needs %s or newer", abs, v, MinVersion)
	}
	r.version = v
	return r, nil
}

// Path is the binary's absolute path.
func (r *Runner) Path() string { return r.path }

// Version is the binary's version.
func (r *Runner) Version() string { return r.version.String() }

// Environ returns the environment Terraform runs with, as KEY=VALUE pairs.
func (r *Runner) Environ() []string {
	out := make([]string, 0, len(r.env))
	for k, v := range r.env {
		out = append(out, k+"="+v)
	}
	return out
}

// exec returns a tfexec handle on dir with Meridian's environment.
func (r *Runner) exec(dir string) (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(dir, r.path)
	if err != nil {
		return nil, fmt.Errorf("terraform in %s: %w", dir, err)
	}
	env := make(map[string]string, len(r.env))
	for k, v := range r.env {
		env[k] = v
	}
	if err := tf.SetEnv(env); err != nil {
		return nil, fmt.Errorf("terraform environment: %w", err)
	}
	tf.SetLogger(printfer{r.logger})
	return tf, nil
}

// handOver gives the folders a command writes to a sandbox's user before
// the command runs.
func (r *Runner) handOver(dirs ...string) error {
	if r.sandbox == nil {
		return nil
	}
	for _, d := range dirs {
		if err := r.sandbox.handOver(d); err != nil {
			return err
		}
	}
	return nil
}

// printfer adapts slog to terraform-exec's logger.
type printfer struct{ l *slog.Logger }

func (p printfer) Printf(format string, v ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// start starts the span of one Terraform command in the workspace dir.
func (r *Runner) start(ctx context.Context, name, dir string) (context.Context, trace.Span) {
	return r.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("meridian.terraform.workspace", dir),
		attribute.String("meridian.terraform.version", r.version.String())))
}
