package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/meridianhq/meridian/store"
)

// ForgetTarget implements store.Decommissions.
func (s *DB) ForgetTarget(ctx context.Context, fence store.Fence) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if err := checkFence(ctx, tx, fence); err != nil {
			return err
		}
		for _, table := range []string{"ledger", "applied_targets"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE repo_id = ? AND target = ?`, fence.Key.RepoID, fence.Key.Target); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget target %s: %w", fence.Key.Target, err)
	}
	return nil
}

// SaveProtection implements store.Decommissions.
func (s *DB) SaveProtection(ctx context.Context, repoID string, protect map[string]bool) error {
	names := make([]string, 0, len(protect))
	for t := range protect {
		names = append(names, t)
	}
	sort.Strings(names)
	err := s.tx(ctx, func(tx *Tx) error {
		for _, t := range names {
			q := `DELETE FROM protected_targets WHERE repo_id = ? AND target = ?`
			args := []any{repoID, t}
			if protect[t] {
				q = `INSERT INTO protected_targets (repo_id, target, updated_at) VALUES (?, ?, ?)
					ON CONFLICT (repo_id, target) DO UPDATE SET updated_at = excluded.updated_at`
				args = append(args, MS(s.now()))
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("target %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record protected targets: %w", err)
	}
	return nil
}

// ProtectedTargets implements store.Decommissions.
func (s *DB) ProtectedTargets(ctx context.Context, repoID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT target FROM protected_targets WHERE repo_id = ? ORDER BY target`, repoID)
	if err != nil {
		return nil, fmt.Errorf("read protected targets: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("read protected targets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AddDestroyApproval implements store.Decommissions.
func (s *DB) AddDestroyApproval(ctx context.Context, a store.DestroyApproval) (store.DestroyApproval, error) {
	if a.At.IsZero() {
		a.At = s.now()
	}
	if a.Items == nil {
		a.Items = []string{}
	}
	items, err := json.Marshal(a.Items)
	if err != nil {
		return a, err
	}
	err = s.queryRow(ctx, `INSERT INTO destroy_approvals (repo_id, plan_id, pr, head_sha, items, actor, via, created_at, merged_at, used_at, used_plan, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0) RETURNING id`,
		a.RepoID, a.PlanID, a.PR, a.Head, string(items), a.Actor, a.Via, MS(a.At), MS(a.MergedAt)).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("record destroy approval: %w", err)
	}
	return a, nil
}

// DestroyApprovals implements store.Decommissions.
func (s *DB) DestroyApprovals(ctx context.Context, repoID string) ([]store.DestroyApproval, error) {
	rows, err := s.query(ctx, `SELECT id, repo_id, plan_id, pr, head_sha, items, actor, via, created_at, merged_at
		FROM destroy_approvals WHERE repo_id = ? AND used_at = 0 AND revoked_at = 0 ORDER BY id`, repoID)
	if err != nil {
		return nil, fmt.Errorf("read destroy approvals: %w", err)
	}
	defer rows.Close()
	var out []store.DestroyApproval
	for rows.Next() {
		var a store.DestroyApproval
		var items string
		var at, merged int64
		if err := rows.Scan(&a.ID, &a.RepoID, &a.PlanID, &a.PR, &a.Head, &items, &a.Actor, &a.Via, &at, &merged); err != nil {
			return nil, fmt.Errorf("read destroy approvals: %w", err)
		}
		if err := json.Unmarshal([]byte(items), &a.Items); err != nil {
			return nil, fmt.Errorf("read destroy approval %d: items: %w", a.ID, err)
		}
		a.At, a.MergedAt = fromMS(at), fromMS(merged)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SettlePRApprovals implements store.Decommissions.
func (s *DB) SettlePRApprovals(ctx context.Context, repoID string, pr int, mergedHead string) (int, error) {
	var merged int64
	err := s.tx(ctx, func(tx *Tx) error {
		now := MS(s.now())
		open := `repo_id = ? AND pr = ? AND used_at = 0 AND revoked_at = 0 AND merged_at = 0`
		if mergedHead != "" {
			res, err := tx.ExecContext(ctx, `UPDATE destroy_approvals SET merged_at = ? WHERE `+open+` AND head_sha = ?`, now, repoID, pr, mergedHead)
			if err != nil {
				return err
			}
			if merged, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE destroy_approvals SET revoked_at = ? WHERE `+open, now, repoID, pr)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("settle destroy approvals of pull request #%d: %w", pr, err)
	}
	return int(merged), nil
}

// UseDestroyApprovals implements store.Decommissions.
func (s *DB) UseDestroyApprovals(ctx context.Context, repoID string, ids []int64, planID string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{MS(s.now()), planID, repoID}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.exec(ctx, `UPDATE destroy_approvals SET used_at = ?, used_plan = ? WHERE repo_id = ? AND used_at = 0 AND id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("record use of destroy approvals: %w", err)
	}
	return nil
}
