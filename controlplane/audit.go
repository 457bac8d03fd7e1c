package controlplane

import (
	"context"
	"fmt"
	"slices"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/inventory"
)

// RecordAudit keeps an audit's drift as drift records of engine live
// (store.DriftRecords.SyncDrift): drift.opened for new drift, drift.cleared
// for live drift no longer seen. The open live records of targets the
// audit could not read are carried over unchanged, so that a read failure
// never reads as "the drift is gone".
func RecordAudit(ctx context.Context, st DriftStore, repoID string, rep *inventory.Report) ([]meridian.Event, error) {
	current, err := auditDrift(ctx, st, repoID, rep)
	if err != nil {
		return nil, err
	}
	evs, err := st.SyncDrift(ctx, repoID, []meridian.DriftEngine{meridian.DriftEngineLive}, current)
	if err != nil {
		return nil, fmt.Errorf("record audit: %w", err)
	}
	return evs, nil
}

// auditDrift is the live drift to sync after rep: its own, plus the open
// live records of the targets it could not read, carried over.
func auditDrift(ctx context.Context, st DriftStore, repoID string, rep *inventory.Report) ([]meridian.DriftRecord, error) {
	current := slices.Clone(rep.Drift)
	failed := rep.Failed()
	if len(failed) == 0 {
		return current, nil
	}
	open, err := st.OpenDrift(ctx, repoID)
	if err != nil {
		return nil, fmt.Errorf("record audit: %w", err)
	}
	for _, d := range open {
		if d.Engine == meridian.DriftEngineLive && slices.Contains(failed, d.Target) {
			current = append(current, d)
		}
	}
	return current, nil
}
