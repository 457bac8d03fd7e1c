package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// SavePlan implements store.Plans.
func (s *DB) SavePlan(ctx context.Context, p store.PlanRecord) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO plans (id, repo_id, source, ref, commit_sha, dirty, tree_digest, document, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET repo_id = excluded.repo_id, source = excluded.source, ref = excluded.ref,
				commit_sha = excluded.commit_sha, dirty = excluded.dirty, tree_digest = excluded.tree_digest,
				document = excluded.document, created_at = excluded.created_at, created_by = excluded.created_by`,
			p.ID, p.RepoID, p.Source, p.Ref, p.Commit, boolInt(p.Dirty), p.TreeDigest, string(p.Document), ms2(p.CreatedAt), p.CreatedBy)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plan_targets WHERE plan_id = $1`, p.ID); err != nil {
			return err
		}
		for _, t := range p.Targets {
			change, err := json.Marshal(t.Change)
			if err != nil {
				return err
			}
			placements, err := json.Marshal(t.Placements)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO plan_targets (plan_id, repo_id, target, dir, inputs_digest, state_serial, state_lineage, change, placements, show_json)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				p.ID, p.RepoID, t.Target, t.Dir, t.InputsDigest, t.StateSerial, t.StateLineage, string(change), string(placements), string(t.ShowJSON))
			if err != nil {
				return fmt.Errorf("target %s: %w", t.Target, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	return nil
}

// GetPlan implements store.Plans.
func (s *DB) GetPlan(ctx context.Context, id string) (store.PlanRecord, error) {
	var p store.PlanRecord
	var dirty int
	var doc string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, repo_id, source, ref, commit_sha, dirty, tree_digest, document, created_at, created_by
		FROM plans WHERE id = $1`, id).Scan(&p.ID, &p.RepoID, &p.Source, &p.Ref, &p.Commit, &dirty, &p.TreeDigest, &doc, &at, &p.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.NotFound("plan", id)
	}
	if err != nil {
		return p, fmt.Errorf("get plan %s: %w", id, err)
	}
	p.Dirty, p.Document, p.CreatedAt = dirty != 0, json.RawMessage(doc), fromMS(at)
	rows, err := s.db.QueryContext(ctx, `SELECT target, dir, inputs_digest, state_serial, state_lineage, change, placements, show_json
		FROM plan_targets WHERE plan_id = $1 ORDER BY target`, id)
	if err != nil {
		return p, fmt.Errorf("get plan %s targets: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t store.PlanTarget
		var change, placements, show string
		if err := rows.Scan(&t.Target, &t.Dir, &t.InputsDigest, &t.StateSerial, &t.StateLineage, &change, &placements, &show); err != nil {
			return p, fmt.Errorf("get plan %s targets: %w", id, err)
		}
		if err := json.Unmarshal([]byte(change), &t.Change); err != nil {
			return p, fmt.Errorf("plan %s target %s: change: %w", id, t.Target, err)
		}
		if err := json.Unmarshal([]byte(placements), &t.Placements); err != nil {
			return p, fmt.Errorf("plan %s target %s: placements: %w", id, t.Target, err)
		}
		if show != "" {
			t.ShowJSON = json.RawMessage(show)
		}
		p.Targets = append(p.Targets, t)
	}
	return p, rows.Err()
}

// ListPlans implements store.Plans.
func (s *DB) ListPlans(ctx context.Context, repoID string, n int) ([]store.PlanRecord, error) {
	var w where
	w.eq("repo_id", repoID)
	rows, err := s.db.QueryContext(ctx, `SELECT id, repo_id, source, ref, commit_sha, dirty, tree_digest, created_at, created_by
		FROM plans`+w.String()+` ORDER BY created_at DESC, id`+limit(n), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	defer rows.Close()
	var out []store.PlanRecord
	for rows.Next() {
		var p store.PlanRecord
		var dirty int
		var at int64
		if err := rows.Scan(&p.ID, &p.RepoID, &p.Source, &p.Ref, &p.Commit, &dirty, &p.TreeDigest, &at, &p.CreatedBy); err != nil {
			return nil, fmt.Errorf("list plans: %w", err)
		}
		p.Dirty, p.CreatedAt = dirty != 0, fromMS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
