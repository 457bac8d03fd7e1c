package sqlstore

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

// AppendAudit implements store.Audit.
func (s *DB) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	err := s.tx(ctx, func(tx *Tx) error { return appendAudit(ctx, tx, e) })
	if err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

func appendAudit(ctx context.Context, tx *Tx, e store.AuditEvent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, repo_id, actor, action, target, plan_id, run_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, MS(e.At), e.RepoID, e.Actor, e.Action, e.Target, e.PlanID, e.RunID, e.Detail)
	return err
}

// ListAudit implements store.Audit.
func (s *DB) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var w where
	w.eq("repo_id", f.RepoID)
	w.eq("action", f.Action)
	w.eq("target", f.Target)
	rows, err := s.query(ctx, `SELECT id, at, repo_id, actor, action, target, plan_id, run_id, detail
		FROM audit_log`+w.String()+` ORDER BY id`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.RepoID, &e.Actor, &e.Action, &e.Target, &e.PlanID, &e.RunID, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
