package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// RecordDrift implements store.Drift.
func (s *DB) RecordDrift(ctx context.Context, obs []store.DriftObservation) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		for _, o := range obs {
			if o.ObservedAt.IsZero() {
				o.ObservedAt = now
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO drift_observations (repo_id, run_id, kind, target, workload, address, action, detail, observed_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				o.RepoID, o.RunID, o.Kind, o.Target, o.Workload, o.Address, o.Action, o.Detail, ms2(o.ObservedAt))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record drift: %w", err)
	}
	return nil
}

// ListDrift implements store.Drift.
func (s *DB) ListDrift(ctx context.Context, f store.DriftFilter) ([]store.DriftObservation, error) {
	var w where
	w.eq("repo_id", f.RepoID)
	w.eq("run_id", f.RunID)
	w.eq("target", f.Target)
	rows, err := s.db.QueryContext(ctx, `SELECT id, repo_id, run_id, kind, target, workload, address, action, detail, observed_at
		FROM drift_observations`+w.String()+` ORDER BY observed_at DESC, id DESC`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list drift: %w", err)
	}
	defer rows.Close()
	var out []store.DriftObservation
	for rows.Next() {
		var o store.DriftObservation
		var at int64
		if err := rows.Scan(&o.ID, &o.RepoID, &o.RunID, &o.Kind, &o.Target, &o.Workload, &o.Address, &o.Action, &o.Detail, &at); err != nil {
			return nil, fmt.Errorf("list drift: %w", err)
		}
		o.ObservedAt = fromMS(at)
		out = append(out, o)
	}
	return out, rows.Err()
}
