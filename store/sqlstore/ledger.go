package sqlstore

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// RecordApplied implements store.Ledger.
func (s *DB) RecordApplied(ctx context.Context, fence store.Fence, t store.AppliedTarget, entries []store.LedgerEntry) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if err := checkFence(ctx, tx, fence); err != nil {
			return err
		}
		if t.AppliedAt.IsZero() {
			t.AppliedAt = s.now()
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ledger WHERE repo_id = ? AND target = ?`, t.RepoID, t.Target); err != nil {
			return err
		}
		for _, e := range entries {
			if e.AppliedAt.IsZero() {
				e.AppliedAt = t.AppliedAt
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO ledger (repo_id, target, workload, plan_id, commit_sha, replicas, run_id, applied_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				t.RepoID, t.Target, e.Workload, e.PlanID, e.Commit, e.Replicas, e.RunID, MS(e.AppliedAt))
			if err != nil {
				return fmt.Errorf("workload %s: %w", e.Workload, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO applied_targets (repo_id, target, plan_id, run_id, commit_sha, dir, state_serial, state_lineage, applied_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_id, target) DO UPDATE SET plan_id = excluded.plan_id, run_id = excluded.run_id,
				commit_sha = excluded.commit_sha, dir = excluded.dir, state_serial = excluded.state_serial,
				state_lineage = excluded.state_lineage, applied_at = excluded.applied_at`,
			t.RepoID, t.Target, t.PlanID, t.RunID, t.Commit, t.Dir, t.StateSerial, t.StateLineage, MS(t.AppliedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("record apply of %s: %w", t.Target, err)
	}
	return nil
}

// LedgerEntries implements store.Ledger.
func (s *DB) LedgerEntries(ctx context.Context, repoID string) ([]store.LedgerEntry, error) {
	rows, err := s.query(ctx, `SELECT repo_id, target, workload, plan_id, commit_sha, replicas, run_id, applied_at
		FROM ledger WHERE repo_id = ? ORDER BY target, workload`, repoID)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	var out []store.LedgerEntry
	for rows.Next() {
		var e store.LedgerEntry
		var at int64
		if err := rows.Scan(&e.RepoID, &e.Target, &e.Workload, &e.PlanID, &e.Commit, &e.Replicas, &e.RunID, &at); err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		e.AppliedAt = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AppliedTargets implements store.Ledger.
func (s *DB) AppliedTargets(ctx context.Context, repoID string) ([]store.AppliedTarget, error) {
	rows, err := s.query(ctx, `SELECT repo_id, target, plan_id, run_id, commit_sha, dir, state_serial, state_lineage, applied_at
		FROM applied_targets WHERE repo_id = ? ORDER BY target`, repoID)
	if err != nil {
		return nil, fmt.Errorf("read applied targets: %w", err)
	}
	defer rows.Close()
	var out []store.AppliedTarget
	for rows.Next() {
		var t store.AppliedTarget
		var at int64
		if err := rows.Scan(&t.RepoID, &t.Target, &t.PlanID, &t.RunID, &t.Commit, &t.Dir, &t.StateSerial, &t.StateLineage, &at); err != nil {
			return nil, fmt.Errorf("read applied targets: %w", err)
		}
		t.AppliedAt = fromMS(at)
		out = append(out, t)
	}
	return out, rows.Err()
}
