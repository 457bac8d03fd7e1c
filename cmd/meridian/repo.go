package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/planner"
)

// repoFlags are how every command names the config repo.
type repoFlags struct {
	repo     string
	ref      string
	cacheDir string
}

func (f *repoFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.repo, "repo", "", "config repo: a directory, or a Git URL (file://, https://, ssh://, git@host:path)")
	cmd.Flags().StringVar(&f.ref, "ref", "", "branch, tag or commit to read from a Git URL (default: the remote's default branch)")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "where Git clones are cached (default: ~/.cache/meridian/repos)")
	_ = cmd.MarkFlagRequired("repo")
}

// loaded is a config repo read and parsed.
type loaded struct {
	snap *gitops.Snapshot
	cfg  *meridian.Config
}

// input is the planner input for the loaded repo, starting from the
// applied-state ledger current.
func (l *loaded) input(current map[string][]string) planner.Input {
	return planner.Input{Config: l.cfg, FS: l.snap.FS, Repo: l.snap.Source, Commit: l.snap.Commit, Dirty: l.snap.Dirty, Current: current}
}

// snapshot is the loaded repo as package controlplane takes it.
func (l *loaded) snapshot() *controlplane.Snapshot {
	return &controlplane.Snapshot{Source: l.snap.Source, Ref: l.snap.Ref, Commit: l.snap.Commit, Dirty: l.snap.Dirty, Config: l.cfg, FS: l.snap.FS}
}

// load reads and parses the repo. Config errors come back as
// meridian.ConfigErrors so callers can list them all.
func (f *repoFlags) load(ctx context.Context, a *app) (*loaded, error) {
	snap, err := gitops.Load(ctx, f.repo, f.ref, gitops.Options{CacheDir: f.cacheDir, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(snap.FS)
	if err != nil {
		return nil, err
	}
	return &loaded{snap: snap, cfg: cfg}, nil
}

// configErrorList renders config errors one per line for stderr.
func configErrorList(err error) (string, bool) {
	var ces meridian.ConfigErrors
	if !errors.As(err, &ces) {
		return "", false
	}
	return fmt.Sprintf("%d config error(s):\n%s", len(ces), ces.Error()), true
}

// loadConfig reads a config repo from a directory or URL at its default
// ref, for commands that need only the parsed config.
func (a *app) loadConfig(ctx context.Context, repo string) (*meridian.Config, error) {
	l, err := (&repoFlags{repo: repo}).load(ctx, a)
	if err != nil {
		return nil, err
	}
	return l.cfg, nil
}
