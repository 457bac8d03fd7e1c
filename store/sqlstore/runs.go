package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/meridian/store"
)

const runColumns = `id, parent_id, repo_id, kind, plan_id, target, status, host, pid, actor, started_at, finished_at, output, error, detail`

// CreateRun implements store.Runs.
func (s *DB) CreateRun(ctx context.Context, r store.Run) error {
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO runs (`+runColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', '', ?)`,
		r.ID, r.ParentID, r.RepoID, string(r.Kind), r.PlanID, r.Target, string(store.RunRunning),
		r.Owner.Host, r.Owner.PID, r.Owner.Actor, MS(r.StartedAt), string(r.Detail))
	if err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	return nil
}

// FinishRun implements store.Runs.
func (s *DB) FinishRun(ctx context.Context, id string, fence *store.Fence, f store.RunFinish) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if fence != nil {
			if err := checkFence(ctx, tx, *fence); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ?, output = ?, error = ?, detail = ?,
				plan_id = CASE WHEN ? = '' THEN plan_id ELSE ? END
			WHERE id = ? AND status = ?`,
			string(f.Status), MS(s.now()), f.Output, f.Error, string(f.Detail), f.PlanID, f.PlanID, id, string(store.RunRunning))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, id).Scan(&st); errors.Is(err, sql.ErrNoRows) {
				return store.NotFound("run", id)
			}
			return fmt.Errorf("%w (it is %s)", store.ErrRunNotRunning, st)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	return nil
}

// GetRun implements store.Runs.
func (s *DB) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.queryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.NotFound("run", id)
	}
	if err != nil {
		return r, fmt.Errorf("get run %s: %w", id, err)
	}
	return r, nil
}

// ListRuns implements store.Runs.
func (s *DB) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	var w where
	w.eq("repo_id", f.RepoID)
	w.eq("plan_id", f.PlanID)
	w.eq("parent_id", f.ParentID)
	w.eq("target", f.Target)
	w.eq("kind", string(f.Kind))
	rows, err := s.query(ctx, `SELECT `+runColumns+` FROM runs`+w.String()+` ORDER BY started_at DESC, id`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRun(row scanner) (store.Run, error) {
	var r store.Run
	var kind, status, detail string
	var started int64
	var finished sql.NullInt64
	err := row.Scan(&r.ID, &r.ParentID, &r.RepoID, &kind, &r.PlanID, &r.Target, &status,
		&r.Owner.Host, &r.Owner.PID, &r.Owner.Actor, &started, &finished, &r.Output, &r.Error, &detail)
	if err != nil {
		return r, err
	}
	r.Kind, r.Status = store.RunKind(kind), store.RunStatus(status)
	r.StartedAt, r.FinishedAt = fromMS(started), fromNullMS(finished)
	if detail != "" {
		r.Detail = json.RawMessage(detail)
	}
	return r, nil
}

// interruptRuns records the holder's run (and its part on target) as
// interrupted: its lease ran out before it finished.
func interruptRuns(ctx context.Context, tx *Tx, runID, target, why string, now int64) error {
	if runID == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ?, error = ?
		WHERE status = ? AND (id = ? OR (parent_id = ? AND target = ?))`,
		string(store.RunInterrupted), now, why, string(store.RunRunning), runID, runID, target)
	return err
}
