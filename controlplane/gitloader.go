package controlplane

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/telemetry"
)

// GitLoaderOptions configures a GitLoader.
type GitLoaderOptions struct {
	// Source is the config repo: a directory or a Git URL (with
	// credentials, if any; they are never shown).
	Source string
	// Name is the source as the store is keyed by (gitops.SourceName).
	Name string
	// Branch is the watched branch, for Ping and drift checks.
	Branch string
	// CacheDir is where Git clones are cached (default:
	// ~/.cache/meridian/repos).
	CacheDir string
	// Auth carries the server's Git token; gitops.Load sends it only to
	// the host of Source.
	Auth gitops.AuthOptions
	// Logger defaults to discarding.
	Logger *slog.Logger
	// TracerProvider traces each load (default: no tracing).
	TracerProvider trace.TracerProvider
}

// GitLoader is Loader on gitops and the config parser.
type GitLoader struct {
	o      GitLoaderOptions
	tracer trace.Tracer
}

// NewGitLoader returns a loader of o.Source.
func NewGitLoader(o GitLoaderOptions) *GitLoader {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &GitLoader{o: o, tracer: telemetry.Tracer(o.TracerProvider, "controlplane")}
}

func (l *GitLoader) gitOptions() gitops.Options {
	return gitops.Options{CacheDir: l.o.CacheDir, Logger: l.o.Logger, Auth: l.o.Auth}
}

// Load implements Loader.
func (l *GitLoader) Load(ctx context.Context, ref string) (_ *Snapshot, err error) {
	ctx, span := l.tracer.Start(ctx, "load", trace.WithAttributes(attribute.String("meridian.ref", ref)))
	defer func() { telemetry.End(span, err) }()
	snap, err := gitops.Load(ctx, l.o.Source, ref, l.gitOptions())
	if err != nil {
		return nil, err
	}
	if snap.Source != l.o.Name {
		l.o.Logger.Warn("config repo source name differs from the one the store is keyed by", "loaded", snap.Source, "expected", l.o.Name)
	}
	span.SetAttributes(attribute.String("meridian.commit", snap.Commit))
	cfg, err := config.Load(snap.FS)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Source: snap.Source, Ref: snap.Ref, Commit: snap.Commit, Dirty: snap.Dirty, Config: cfg, FS: snap.FS}, nil
}

// Ping implements Loader: it reads the branch (a fetch for a URL).
func (l *GitLoader) Ping(ctx context.Context) error {
	_, err := gitops.Load(ctx, l.o.Source, gitops.BranchRef(l.o.Branch), l.gitOptions())
	return err
}
