package main

import (
	"context"
	"path/filepath"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/pricing"
	"github.com/meridianhq/meridian/providers"
)

// setupPrices returns the scheduled price refresh, or nil when
// --prices-refresh-interval is off. It writes STATE_DIR/prices/catalog.json
// and compares with the catalog the branch head's config uses.
func (m *Main) setupPrices(stateDir, repoID string, loader controlplane.Loader, notify func(int64)) *pricing.Schedule {
	c := m.Config
	if c.PricesRefreshInterval <= 0 {
		return nil
	}
	return &pricing.Schedule{
		Interval: c.PricesRefreshInterval,
		Out:      filepath.Join(stateDir, "prices", "catalog.json"),
		Current: func(ctx context.Context) (*providers.Catalog, error) {
			snap, err := loader.Load(ctx, gitops.BranchRef(c.Branch))
			if err != nil {
				return nil, err
			}
			def, err := providers.DefaultCatalog()
			if err != nil {
				return nil, err
			}
			return providers.ForConfig(snap.Config, def)
		},
		Events: m.db, Notified: notify,
		RepoID: repoID, Branch: c.Branch, Logger: m.Logger,
	}
}
