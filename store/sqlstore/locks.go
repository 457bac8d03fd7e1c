package sqlstore

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
func getLock(ctx context.Context, tx *Tx, k store.LockKey) (lockRow, bool, error) {
	l, err := scanLock(tx.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks WHERE repo_id = ? AND target = ?`+tx.d.ForUpdate, k.RepoID, k.Target))
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	return l, err == nil, err
}

// AcquireLock implements store.Locks. Every step runs with the lock's row
// locked, so that on PostgreSQL too the queue and the lock change one
// request at a time, and waiters are numbered in the order they came.
func (s *DB) AcquireLock(ctx context.Context, req store.LockRequest) (store.Lock, error) {
	if req.TTL <= 0 {
		return store.Lock{}, fmt.Errorf("acquire lock %s: lease TTL must be positive", req.Key.Target)
	}
	if req.Waiter != "" && req.WaitTTL <= 0 {
		return store.Lock{}, fmt.Errorf("acquire lock %s: a queued request needs a positive WaitTTL", req.Key.Target)
	}
	var got store.Lock
	// A refusal is returned after the commit: the request's place in the
	// queue, added or renewed, must stay.
	var refused *store.LockHeldError
	err := s.tx(ctx, func(tx *Tx) error {
		// A row lock cannot lock a row that does not exist yet: make sure it
		// does (unheld, token 0), so that two first acquirers queue on it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO locks (repo_id, target, token, held) VALUES (?, ?, 0, 0)
			ON CONFLICT (repo_id, target) DO NOTHING`, req.Key.RepoID, req.Key.Target); err != nil {
			return err
		}
		cur, _, err := getLock(ctx, tx, req.Key)
		if err != nil {
			return err
		}
		now := s.now()
		position, waiters, err := queue(ctx, tx, req, now)
		if err != nil {
			return err
		}
		held := cur.held && now.Before(cur.ExpiresAt)
		if held || position > 1 || (position == 0 && waiters > 0) {
			refused = &store.LockHeldError{Holder: store.Lock{Key: req.Key}, Position: position, Waiters: waiters}
			if held {
				refused.Holder = cur.Lock
			}
			return nil
		}
		if cur.held {
			why := fmt.Sprintf("interrupted: lease of %s (pid %d) on %s expired at %s and was taken over by %s (pid %d)",
				cur.Owner.Host, cur.Owner.PID, req.Key.Target, cur.ExpiresAt.UTC().Format(time.RFC3339), req.Owner.Host, req.Owner.PID)
			if err := interruptRuns(ctx, tx, cur.RunID, req.Key.Target, why, MS(now)); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, store.AuditEvent{At: now, RepoID: req.Key.RepoID, Actor: req.Owner.Actor,
				Action: "lock.takeover", Target: req.Key.Target, PlanID: req.PlanID, RunID: req.RunID, Detail: why}); err != nil {
				return err
			}
		}
		if position == 1 {
			if err := leaveQueue(ctx, tx, req.Key, req.Waiter); err != nil {
				return err
			}
		}
		got = store.Lock{Key: req.Key, Token: cur.Token + 1, Owner: req.Owner, PlanID: req.PlanID, RunID: req.RunID,
			AcquiredAt: now, RenewedAt: now, ExpiresAt: now.Add(req.TTL)}
		_, err = tx.ExecContext(ctx, `UPDATE locks SET token = ?, held = 1, host = ?, pid = ?, actor = ?, plan_id = ?, run_id = ?,
				acquired_at = ?, renewed_at = ?, expires_at = ?
			WHERE repo_id = ? AND target = ?`,
			got.Token, req.Owner.Host, req.Owner.PID, req.Owner.Actor, req.PlanID, req.RunID,
			MS(got.AcquiredAt), MS(got.RenewedAt), MS(got.ExpiresAt), req.Key.RepoID, req.Key.Target)
		return err
	})
	if err != nil {
		return store.Lock{}, fmt.Errorf("acquire lock %s: %w", req.Key.Target, err)
	}
	if refused != nil {
		return store.Lock{}, refused
	}
	return got, nil
}

// queue drops the expired waiters of req's lock, adds req to its queue or
// renews its place (when it has a Waiter), and returns its position (0:
// not queued) among the live waiters, and how many there are.
func queue(ctx context.Context, tx *Tx, req store.LockRequest, now time.Time) (position, waiters int, err error) {
	k := req.Key
	if _, err := tx.ExecContext(ctx, `DELETE FROM lock_waiters WHERE repo_id = ? AND target = ? AND expires_at <= ?`,
		k.RepoID, k.Target, MS(now)); err != nil {
		return 0, 0, err
	}
	if req.Waiter != "" {
		expires := MS(now.Add(req.WaitTTL))
		res, err := tx.ExecContext(ctx, `UPDATE lock_waiters SET expires_at = ? WHERE repo_id = ? AND target = ? AND waiter = ?`,
			expires, k.RepoID, k.Target, req.Waiter)
		if err != nil {
			return 0, 0, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, 0, err
		} else if n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO lock_waiters (repo_id, target, waiter, host, pid, actor, plan_id, run_id, enqueued_at, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, k.RepoID, k.Target, req.Waiter, req.Owner.Host, req.Owner.PID, req.Owner.Actor,
				req.PlanID, req.RunID, MS(now), expires); err != nil {
				return 0, 0, err
			}
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT waiter FROM lock_waiters WHERE repo_id = ? AND target = ? ORDER BY id`, k.RepoID, k.Target)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return 0, 0, err
		}
		waiters++
		if w == req.Waiter && req.Waiter != "" {
			position = waiters
		}
	}
	return position, waiters, rows.Err()
}

func leaveQueue(ctx context.Context, tx *Tx, k store.LockKey, waiter string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM lock_waiters WHERE repo_id = ? AND target = ? AND waiter = ?`, k.RepoID, k.Target, waiter)
	return err
}

// LeaveLockQueue implements store.Locks.
func (s *DB) LeaveLockQueue(ctx context.Context, key store.LockKey, waiter string) error {
	if err := s.tx(ctx, func(tx *Tx) error { return leaveQueue(ctx, tx, key, waiter) }); err != nil {
		return fmt.Errorf("leave the queue of %s: %w", key.Target, err)
	}
	return nil
}

// ListLockWaiters implements store.Locks.
func (s *DB) ListLockWaiters(ctx context.Context, repoID string) ([]store.LockWaiter, error) {
	var w where
	w.add("expires_at > ?", MS(s.now()))
	w.eq("repo_id", repoID)
	rows, err := s.query(ctx, `SELECT repo_id, target, waiter, host, pid, actor, plan_id, run_id, enqueued_at, expires_at
		FROM lock_waiters`+w.String()+` ORDER BY repo_id, target, id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list lock waiters: %w", err)
	}
	defer rows.Close()
	var out []store.LockWaiter
	for rows.Next() {
		var l store.LockWaiter
		var enq, exp int64
		if err := rows.Scan(&l.Key.RepoID, &l.Key.Target, &l.Waiter, &l.Owner.Host, &l.Owner.PID, &l.Owner.Actor,
			&l.PlanID, &l.RunID, &enq, &exp); err != nil {
			return nil, fmt.Errorf("list lock waiters: %w", err)
		}
		l.EnqueuedAt, l.ExpiresAt, l.Position = fromMS(enq), fromMS(exp), 1
		if n := len(out); n > 0 && out[n-1].Key == l.Key {
			l.Position = out[n-1].Position + 1
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// RenewLock implements store.Locks.
func (s *DB) RenewLock(ctx context.Context, f store.Fence, ttl time.Duration) (store.Lock, error) {
	var got store.Lock
	err := s.tx(ctx, func(tx *Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE locks SET renewed_at = ?, expires_at = ?
			WHERE repo_id = ? AND target = ? AND token = ? AND held = 1`,
			MS(now), MS(now.Add(ttl)), f.Key.RepoID, f.Key.Target, f.Token)
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
	res, err := s.exec(ctx, `UPDATE locks SET held = 0 WHERE repo_id = ? AND target = ? AND token = ? AND held = 1`,
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
	return s.tx(ctx, func(tx *Tx) error { return checkFence(ctx, tx, f) })
}

// checkFence fails with ErrLockLost unless f holds its lock; writes call it
// inside their transaction, so the check and the write are one. It locks
// the lock row until the transaction ends, so that no takeover or
// force-unlock can commit between the check and the write.
func checkFence(ctx context.Context, tx *Tx, f store.Fence) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM locks WHERE repo_id = ? AND target = ? AND token = ? AND held = 1`+tx.d.ForUpdate,
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
	err := s.tx(ctx, func(tx *Tx) error {
		now := s.now()
		cur, found, err := getLock(ctx, tx, key)
		if err != nil || !found || !cur.held {
			return err
		}
		prev, held = cur.Lock, true
		// Bumping the token fences the old holder out even if it is alive.
		if _, err := tx.ExecContext(ctx, `UPDATE locks SET held = 0, token = token + 1 WHERE repo_id = ? AND target = ?`,
			key.RepoID, key.Target); err != nil {
			return err
		}
		why := fmt.Sprintf("interrupted: lock on %s force-unlocked by %s: %s", key.Target, actor, reason)
		if err := interruptRuns(ctx, tx, cur.RunID, key.Target, why, MS(now)); err != nil {
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
	rows, err := s.query(ctx, `SELECT `+lockColumns+` FROM locks`+w.String()+` ORDER BY repo_id, target`, w.args...)
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
