package sqlstore

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// scopePlans serializes the prunes of one repo's plans across replicas on
// PostgreSQL. A plan saved while its ref is pruned is harmless: missed by
// the ranking, it only leaves one plan more until the next prune.
const scopePlans = "plans:"

// prunable selects a repo's plans that retention may delete, oldest
// first: those past the newest ? of their ref (in ListPlans order) that
// nothing still needs. Its arguments are the repo ID, keepPerRef, then
// the repo ID five times more.
const prunable = `SELECT id, ref, commit_sha, created_at FROM (
		SELECT id, ref, commit_sha, created_at,
			ROW_NUMBER() OVER (PARTITION BY ref ORDER BY created_at DESC, id) AS newest
		FROM plans WHERE repo_id = ?) ranked
	WHERE newest > ?
	  AND id NOT IN (SELECT plan_id FROM applied_targets WHERE repo_id = ?)
	  AND id NOT IN (SELECT plan_id FROM ledger WHERE repo_id = ?)
	  AND id NOT IN (SELECT plan_id FROM runs WHERE repo_id = ? AND plan_id <> ''
	                   AND (status = 'running' OR (kind = 'apply' AND status = 'succeeded')))
	  AND id NOT IN (SELECT plan_id FROM locks WHERE repo_id = ? AND held = 1)
	  AND id NOT IN (SELECT plan_id FROM moves WHERE plan_id <> '')
	  AND id NOT IN (SELECT c.plan_id FROM pr_comments c WHERE c.repo_id = ? AND c.posted_at =
	                   (SELECT MAX(d.posted_at) FROM pr_comments d WHERE d.repo_id = c.repo_id AND d.pr_number = c.pr_number))
	ORDER BY created_at, id`

// PrunePlans implements store.Plans. The selection and the deletes are one
// transaction, in which the applied state, runs and locks it reads cannot
// change on SQLite (BEGIN IMMEDIATE); on PostgreSQL a lock taken after the
// selection can name a plan being pruned, which is why an apply checks
// its plan again once it holds its locks.
func (s *DB) PrunePlans(ctx context.Context, repoID string, keepPerRef int) ([]store.PrunedPlan, error) {
	if keepPerRef <= 0 {
		return nil, nil
	}
	var out []store.PrunedPlan
	err := s.tx(ctx, func(tx *Tx) error {
		if err := s.d.lockScope(ctx, tx, scopePlans+repoID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, prunable, repoID, keepPerRef, repoID, repoID, repoID, repoID, repoID)
		if err != nil {
			return err
		}
		now := fromMS(MS(s.now()))
		for rows.Next() {
			p := store.PrunedPlan{RepoID: repoID, PrunedAt: now}
			var created int64
			if err := rows.Scan(&p.ID, &p.Ref, &p.Commit, &created); err != nil {
				rows.Close()
				return err
			}
			p.CreatedAt = fromMS(created)
			out = append(out, p)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range out {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pruned_plans (id, repo_id, ref, commit_sha, created_at, pruned_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, p.ID, p.RepoID, p.Ref, p.Commit, MS(p.CreatedAt), MS(p.PrunedAt)); err != nil {
				return fmt.Errorf("plan %s: %w", p.ID, err)
			}
			// plan_targets go with it (ON DELETE CASCADE).
			if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE id = ?`, p.ID); err != nil {
				return fmt.Errorf("plan %s: %w", p.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prune plans of %s: %w", repoID, err)
	}
	return out, nil
}
