package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// Plans live in migration 1's plans and plan_targets tables, compressed
// since migration 9 (PostgreSQL: 6): the document and each target's show
// JSON go into the _gz columns, the text columns stay empty. A plan's
// document is written once per ID: a re-save of the same ID with the same
// document (document_sha256) updates the row's metadata only.

// errDocChanged is savePlanMeta's answer when the stored document is not
// the one the caller hashed (it changed, or the plan is gone): the caller
// compresses the document and saves it whole.
var errDocChanged = errors.New("stored document changed")

// SavePlan implements store.Plans. Compression happens before the
// transaction, so that a large document does not hold the write lock
// while it is compressed.
func (s *DB) SavePlan(ctx context.Context, p store.PlanRecord) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	sum := sha256.Sum256(p.Document)
	digest := hex.EncodeToString(sum[:])
	targets, err := compressTargets(p.Targets)
	if err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	var have string
	if err := s.queryRow(ctx, `SELECT document_sha256 FROM plans WHERE id = ?`, p.ID).Scan(&have); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	if have == digest {
		err = s.tx(ctx, func(tx *Tx) error { return savePlan(ctx, tx, p, digest, nil, targets) })
		if !errors.Is(err, errDocChanged) {
			return wrapSave(p.ID, err)
		}
	}
	gz, err := compress(p.Document)
	if err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	return wrapSave(p.ID, s.tx(ctx, func(tx *Tx) error { return savePlan(ctx, tx, p, digest, gz, targets) }))
}

func wrapSave(id string, err error) error {
	if err != nil {
		return fmt.Errorf("save plan %s: %w", id, err)
	}
	return nil
}

// storedTarget is a plan target with its show JSON compressed.
type storedTarget struct {
	store.PlanTarget
	change, placements string
	showGZ             []byte
}

func compressTargets(ts []store.PlanTarget) ([]storedTarget, error) {
	out := make([]storedTarget, 0, len(ts))
	for _, t := range ts {
		change, err := json.Marshal(t.Change)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Target, err)
		}
		placements, err := json.Marshal(t.Placements)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Target, err)
		}
		gz, err := compress(t.ShowJSON)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Target, err)
		}
		out = append(out, storedTarget{PlanTarget: t, change: string(change), placements: string(placements), showGZ: gz})
	}
	return out, nil
}

// savePlan writes p in tx: the whole row when gz is set, else only its
// metadata, provided the stored document still hashes to digest
// (errDocChanged otherwise). The targets are replaced either way: a
// re-plan with the same ID made new plan files, whose show JSON they are.
func savePlan(ctx context.Context, tx *Tx, p store.PlanRecord, digest string, gz []byte, targets []storedTarget) error {
	if gz == nil && len(p.Document) > 0 {
		res, err := tx.ExecContext(ctx, `UPDATE plans SET repo_id = ?, source = ?, ref = ?, commit_sha = ?, dirty = ?, tree_digest = ?,
				created_at = ?, created_by = ?
			WHERE id = ? AND document_sha256 = ?`,
			p.RepoID, p.Source, p.Ref, p.Commit, boolInt(p.Dirty), p.TreeDigest, MS(p.CreatedAt), p.CreatedBy, p.ID, digest)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errDocChanged
		}
	} else {
		_, err := tx.ExecContext(ctx, `INSERT INTO plans (id, repo_id, source, ref, commit_sha, dirty, tree_digest, document, document_gz,
				document_sha256, document_size, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET repo_id = excluded.repo_id, source = excluded.source, ref = excluded.ref,
				commit_sha = excluded.commit_sha, dirty = excluded.dirty, tree_digest = excluded.tree_digest,
				document = excluded.document, document_gz = excluded.document_gz, document_sha256 = excluded.document_sha256,
				document_size = excluded.document_size, created_at = excluded.created_at, created_by = excluded.created_by`,
			p.ID, p.RepoID, p.Source, p.Ref, p.Commit, boolInt(p.Dirty), p.TreeDigest, gz, digest, len(p.Document), MS(p.CreatedAt), p.CreatedBy)
		if err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pruned_plans WHERE id = ?`, p.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM plan_targets WHERE plan_id = ?`, p.ID); err != nil {
		return err
	}
	for _, t := range targets {
		_, err := tx.ExecContext(ctx, `INSERT INTO plan_targets (plan_id, repo_id, target, dir, inputs_digest, state_serial, state_lineage,
				change, placements, show_json, show_json_gz, show_json_size)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
			p.ID, p.RepoID, t.Target, t.Dir, t.InputsDigest, t.StateSerial, t.StateLineage, t.change, t.placements, t.showGZ, len(t.ShowJSON))
		if err != nil {
			return fmt.Errorf("target %s: %w", t.Target, err)
		}
	}
	return nil
}

// GetPlan implements store.Plans.
func (s *DB) GetPlan(ctx context.Context, id string) (store.PlanRecord, error) {
	var p store.PlanRecord
	var dirty int
	var doc string
	var gz []byte
	var size, at int64
	err := s.queryRow(ctx, `SELECT id, repo_id, source, ref, commit_sha, dirty, tree_digest, document, document_gz, document_size, created_at, created_by
		FROM plans WHERE id = ?`, id).Scan(&p.ID, &p.RepoID, &p.Source, &p.Ref, &p.Commit, &dirty, &p.TreeDigest, &doc, &gz, &size, &at, &p.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return p, s.planGone(ctx, id)
	}
	if err != nil {
		return p, fmt.Errorf("get plan %s: %w", id, err)
	}
	p.Dirty, p.CreatedAt = dirty != 0, fromMS(at)
	if p.Document, err = stored(doc, gz, size); err != nil {
		return p, fmt.Errorf("get plan %s: document: %w", id, err)
	}
	rows, err := s.query(ctx, `SELECT target, dir, inputs_digest, state_serial, state_lineage, change, placements, show_json, show_json_gz, show_json_size
		FROM plan_targets WHERE plan_id = ? ORDER BY target`, id)
	if err != nil {
		return p, fmt.Errorf("get plan %s targets: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t store.PlanTarget
		var change, placements, show string
		var showGZ []byte
		var showSize int64
		if err := rows.Scan(&t.Target, &t.Dir, &t.InputsDigest, &t.StateSerial, &t.StateLineage, &change, &placements, &show, &showGZ, &showSize); err != nil {
			return p, fmt.Errorf("get plan %s targets: %w", id, err)
		}
		if err := json.Unmarshal([]byte(change), &t.Change); err != nil {
			return p, fmt.Errorf("plan %s target %s: change: %w", id, t.Target, err)
		}
		if err := json.Unmarshal([]byte(placements), &t.Placements); err != nil {
			return p, fmt.Errorf("plan %s target %s: placements: %w", id, t.Target, err)
		}
		if t.ShowJSON, err = stored(show, showGZ, showSize); err != nil {
			return p, fmt.Errorf("plan %s target %s: show JSON: %w", id, t.Target, err)
		}
		p.Targets = append(p.Targets, t)
	}
	return p, rows.Err()
}

// planGone is GetPlan's error for a plan it did not find: a
// *store.PlanPrunedError when retention deleted it, else ENOTFOUND.
func (s *DB) planGone(ctx context.Context, id string) error {
	pp := store.PrunedPlan{ID: id}
	var created, pruned int64
	err := s.queryRow(ctx, `SELECT repo_id, ref, commit_sha, created_at, pruned_at FROM pruned_plans WHERE id = ?`, id).
		Scan(&pp.RepoID, &pp.Ref, &pp.Commit, &created, &pruned)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.NotFound("plan", id)
	case err != nil:
		return fmt.Errorf("get plan %s: %w", id, err)
	}
	pp.CreatedAt, pp.PrunedAt = fromMS(created), fromMS(pruned)
	return &store.PlanPrunedError{Plan: pp}
}

// ListPlans implements store.Plans.
func (s *DB) ListPlans(ctx context.Context, repoID string, n int) ([]store.PlanRecord, error) {
	var w where
	w.eq("repo_id", repoID)
	rows, err := s.query(ctx, `SELECT id, repo_id, source, ref, commit_sha, dirty, tree_digest, created_at, created_by
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

// PlanStats implements store.Plans.
func (s *DB) PlanStats(ctx context.Context, repoID string) (store.PlanStats, error) {
	var st store.PlanStats
	var docRaw, docStored, showRaw, showStored int64
	err := s.queryRow(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN document_gz IS NULL THEN LENGTH(document) ELSE document_size END), 0),
			COALESCE(SUM(LENGTH(document) + COALESCE(LENGTH(document_gz), 0)), 0)
		FROM plans WHERE repo_id = ?`, repoID).Scan(&st.Plans, &docRaw, &docStored)
	if err != nil {
		return st, fmt.Errorf("plan stats: %w", err)
	}
	err = s.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN show_json_gz IS NULL THEN LENGTH(show_json) ELSE show_json_size END), 0),
			COALESCE(SUM(LENGTH(show_json) + COALESCE(LENGTH(show_json_gz), 0)), 0)
		FROM plan_targets WHERE repo_id = ?`, repoID).Scan(&showRaw, &showStored)
	if err != nil {
		return st, fmt.Errorf("plan stats: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM pruned_plans WHERE repo_id = ?`, repoID).Scan(&st.Pruned); err != nil {
		return st, fmt.Errorf("plan stats: %w", err)
	}
	st.RawBytes, st.StoredBytes = docRaw+showRaw, docStored+showStored
	return st, nil
}
