package main

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/policies"
)

// edgeSource is the watched branch as the edge bundles read it: the
// reconciler's planned head and its saved plan, and the config at its
// commit.
type edgeSource struct {
	recon  *controlplane.Reconciler
	loader controlplane.Loader
}

func (s edgeSource) Head() (string, string) {
	st := s.recon.State()
	return st.Commit, st.PlanID
}

func (s edgeSource) Plan(ctx context.Context, id string) (*meridian.Plan, error) {
	_, p, err := s.recon.SavedPlan(ctx, id)
	return p, err
}

func (s edgeSource) Config(ctx context.Context, commit string) (*meridian.Config, error) {
	snap, err := s.loader.Load(ctx, commit)
	if err != nil {
		return nil, err
	}
	return snap.Config, nil
}

// setupEdge makes the OPA bundle server: its signing key (the operator's,
// or generated under the state dir on first start) and its service.
func (m *Main) setupEdge(stateDir, repoID string, loader controlplane.Loader, notify func(int64)) (*edge.Service, error) {
	c := &m.Config
	key, err := edge.LoadKey(signingKeyPath(c.EdgeSigningKey, stateDir), c.EdgeSigningKey == "")
	if err != nil {
		return nil, err
	}
	lib, err := policies.Library()
	if err != nil {
		return nil, fmt.Errorf("edge bundles: %w", err)
	}
	return edge.NewService(edgeSource{recon: m.recon, loader: loader}, m.db, key, edge.Options{RepoID: repoID, Library: lib,
		StaleAfter: c.EdgeStaleAfter, BehindAfter: c.EdgeBehindAfter, Notify: notify, Logger: m.Logger}), nil
}
