package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meridianhq/meridian/store"
)

const lockColumns = `repo_id, target, token, held, host, pid, actor, plan_id, run_id, acquired_at, renewed_at, expires_at`

type lockRow struct {
	store.Lock
	held bool
}

func scanLock(row scanner) (lockRow, error) {
	var l lockRow
	var held int
	var acq, ren, exp int64
	err := row.Scan(&l.Key.RepoID, &l.Key.Target, &l.Token, &held, &l.Owner.Host, &l.Owner.PID, &l.Owner.Actor,
		&l.PlanID, &l.RunID, &acq, &ren, &exp)
	l.held = held != 0
	l.AcquiredAt, l.RenewedAt, l.ExpiresAt = fromMS(acq), fromMS(ren), fromMS(exp)
	return l, err
}

// getLock reads the lock row of k and locks it until the transaction
// ends, so that the caller's read-check-write cannot interleave with
// another process's.
func getLock(ctx context.Context, tx *sql.Tx, k store.LockKey) (lockRow, bool, error) {
	l, err := scanLock(tx.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks WHERE repo_id = $1 AND target = $2 FOR UPDATE`, k.RepoID, k.Target))
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	return l, err == nil, err
}

// AcquireLock implements store.Locks.
func (s *DB) AcquireLock(ctx context.Context, req store.LockRequest) (store.Lock, error) {
	if req.TTL <= 0 {
		return store.Lock{}, fmt.Errorf("acquire lock %s: lease TTL must be positive", req.Key.Target)
	}
	var got store.Lock
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// FOR UPDATE cannot lock a row that does not exist yet: make sure it
		// does (unheld, token 0), so that two first acquirers queue on it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO locks (repo_id, target, token, held) VALUES ($1, $2, 0, 0)
			ON CONFLICT (repo_id, target) DO NOTHING`, req.Key.RepoID, req.Key.Target); err != nil {
			return err
		}
		cur, found, err := getLock(ctx, tx, req.Key)
		if err != nil {
			return err
		}
		now := s.now()
		if found && cur.held {
			if now.Before(cur.ExpiresAt) {
				return &store.LockHeldError{Holder: cur.Lock}
			}
			why := fmt.Sprintf("interrupted: lease of %s (pid %d) on %s expired at %s and was taken over by %s (pid %d)",
				cur.Owner.Host, cur.Owner.PID, req.Key.Target, cur.ExpiresAt.UTC().Format(time.RFC3339), req.Owner.Host, req.Owner.PID)
			if err := interruptRuns(ctx, tx, cur.RunID, req.Key.Target, why, ms2(now)); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, store.AuditEvent{At: now, RepoID: req.Key.RepoID, Actor: req.Owner.Actor,
				Action: "lock.takeover", Target: req.Key.Target, PlanID: req.PlanID, RunID: req.RunID, Detail: why}); err != nil {
				return err
			}
		}
		got = store.Lock{Key: req.Key, Token: cur.Token + 1, Owner: req.Owner, PlanID: req.PlanID, RunID: req.RunID,
			AcquiredAt: now, RenewedAt: now, ExpiresAt: now.Add(req.TTL)}
		_, err = tx.ExecContext(ctx, `INSERT INTO locks (`+lockColumns+`) VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (repo_id, target) DO UPDATE SET token = excluded.token, held = 1, host = excluded.host, pid = excluded.pid,
				actor = excluded.actor, plan_id = excluded.plan_id, run_id = excluded.run_id, acquired_at = excluded.acquired_at,
				renewed_at = excluded.renewed_at, expires_at = excluded.expires_at`,
			req.Key.RepoID, req.Key.Target, got.Token, req.Owner.Host, req.Owner.PID, req.Owner.Actor, req.PlanID, req.RunID,
			ms2(got.AcquiredAt), ms2(got.RenewedAt), ms2(got.ExpiresAt))
		return err
	})
	if err != nil {
		if store.IsLockHeld(err) {
			return store.Lock{}, err
		}
		return store.Lock{}, fmt.Errorf("acquire lock %s: %w", req.Key.Target, err)
	}
	return got, nil
}

// RenewLock implements store.Locks.
func (s *DB) RenewLock(ctx context.Context, f store.Fence, ttl time.Duration) (store.Lock, error) {
	var got store.Lock
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE locks SET renewed_at = $1, expires_at = $2
			WHERE repo_id = $3 AND target = $4 AND token = $5 AND held = 1`,
			ms2(now), ms2(now.Add(ttl)), f.Key.RepoID, f.Key.Target, f.Token)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrLockLost
		}
		l, _, err := getLock(ctx, tx, f.Key)
		got = l.Lock
		return err
	})
	if err != nil {
		return got, fmt.Errorf("renew lock %s: %w", f.Key.Target, err)
	}
	return got, nil
}

// ReleaseLock implements store.Locks.
func (s *DB) ReleaseLock(ctx context.Context, f store.Fence) error {
	res, err := s.db.ExecContext(ctx, `UPDATE locks SET held = 0 WHERE repo_id = $1 AND target = $2 AND token = $3 AND held = 1`,
		f.Key.RepoID, f.Key.Target, f.Token)
	if err != nil {
		return fmt.Errorf("release lock %s: %w", f.Key.Target, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("release lock %s: %w", f.Key.Target, store.ErrLockLost)
	}
	return nil
}

// CheckFence implements store.Locks.
func (s *DB) CheckFence(ctx context.Context, f store.Fence) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return checkFence(ctx, tx, f) })
}

// checkFence fails with ErrLockLost unless f holds its lock; writes call it
// inside their transaction, so the check and the write are one. It locks
// the lock row until the transaction ends, so that no takeover or
// force-unlock can commit between the check and the write.
func checkFence(ctx context.Context, tx *sql.Tx, f store.Fence) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM locks WHERE repo_id = $1 AND target = $2 AND token = $3 AND held = 1 FOR UPDATE`,
		f.Key.RepoID, f.Key.Target, f.Token).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("target %s (fencing token %d): %w", f.Key.Target, f.Token, store.ErrLockLost)
	}
	return nil
}

// ForceUnlock implements store.Locks.
func (s *DB) ForceUnlock(ctx context.Context, key store.LockKey, actor, reason string) (store.Lock, bool, error) {
	var prev store.Lock
	var held bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		cur, found, err := getLock(ctx, tx, key)
		if err != nil || !found || !cur.held {
			return err
		}
		prev, held = cur.Lock, true
		// Bumping the token fences the old holder out even if it is alive.
		if _, err := tx.ExecContext(ctx, `UPDATE locks SET held = 0, token = token + 1 WHERE repo_id = $1 AND target = $2`,
			key.RepoID, key.Target); err != nil {
			return err
		}
		why := fmt.Sprintf("interrupted: lock on %s force-unlocked by %s: %s", key.Target, actor, reason)
		if err := interruptRuns(ctx, tx, cur.RunID, key.Target, why, ms2(now)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, store.AuditEvent{At: now, RepoID: key.RepoID, Actor: actor, Action: "lock.force_unlock",
			Target: key.Target, PlanID: cur.PlanID, RunID: cur.RunID,
			Detail: fmt.Sprintf("held by %s (pid %d, actor %s) since %s; reason: %s", cur.Owner.Host, cur.Owner.PID, cur.Owner.Actor,
				cur.AcquiredAt.UTC().Format(time.RFC3339), reason)})
	})
	if err != nil {
		return prev, false, fmt.Errorf("force-unlock %s: %w", key.Target, err)
	}
	return prev, held, nil
}

// ListLocks implements store.Locks.
func (s *DB) ListLocks(ctx context.Context, repoID string) ([]store.Lock, error) {
	w := where{clauses: []string{"held = 1"}}
	w.eq("repo_id", repoID)
	rows, err := s.db.QueryContext(ctx, `SELECT `+lockColumns+` FROM locks`+w.String()+` ORDER BY repo_id, target`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	defer rows.Close()
	var out []store.Lock
	for rows.Next() {
		l, err := scanLock(rows)
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		out = append(out, l.Lock)
	}
	return out, rows.Err()
}
