package main

import (
	"context"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store"
)

// deployOptions are the GitOps output's options for a command with state
// flags: the deploy repo under the same state dir as the store, and moves
// kept in st (nil: in memory, for read-only previews without a store).
func (a *app) deployOptions(sf *stateFlags, st store.Moves) (deploy.Options, error) {
	dir, err := sf.dir()
	if err != nil {
		return deploy.Options{}, err
	}
	opts := deploy.Options{StateDir: dir, Logger: a.logger}
	if st != nil {
		ms := controlplane.NewMoveStore(st)
		if hs, ok := st.(controlplane.HistoryStore); ok {
			// Moves become move.* events of the history, as the server's do.
			ms = ms.WithRecorder(controlplane.NewRecorder(hs, controlplane.RecorderOptions{}), a.logger)
		}
		opts.Store = ms
	}
	return opts, nil
}

// deployPreview is the planner option that fills plan.Deploy for
// `meridian plan`. It reads the moves in progress from the store when one
// exists (without creating one), so that the preview keeps the old
// placements an apply would keep. close releases the store.
func (a *app) deployPreview(ctx context.Context, sf *stateFlags) (opt planner.Option, close func(), err error) {
	db, err := sf.openExisting(ctx)
	if err != nil {
		return nil, nil, err
	}
	var st store.Moves
	close = func() {}
	if db != nil {
		st, close = db, func() { db.Close() }
	}
	opts, err := a.deployOptions(sf, st)
	if err != nil {
		close()
		return nil, nil, err
	}
	return planner.WithDeploy(deploy.Previewer{Options: opts}), close, nil
}
