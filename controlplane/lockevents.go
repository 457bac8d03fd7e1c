package controlplane

import (
	"context"
	"log/slog"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// LockEvents returns st as the workflows should see it when history is
// kept: every lock taken or released also becomes an event in rec (nil:
// st itself).
func LockEvents(st store.Store, rec *Recorder, log *slog.Logger) store.Store {
	if rec == nil {
		return st
	}
	return lockEvents{Store: st, rec: rec, log: log}
}

// lockEvents is the store as the workflows see it when history is kept:
// every target lock taken or released also becomes a lock.acquired or
// lock.released event. The lock is what matters; an event that cannot be
// written is logged and the lock operation still stands.
type lockEvents struct {
	store.Store
	rec *Recorder
	log *slog.Logger
}

// AcquireLock implements store.Locks.
func (s lockEvents) AcquireLock(ctx context.Context, req store.LockRequest) (store.Lock, error) {
	l, err := s.Store.AcquireLock(ctx, req)
	if err == nil {
		s.record(ctx, meridian.Event{Type: meridian.EventLockAcquired, RepoID: req.Key.RepoID, Target: req.Key.Target,
			PlanID: req.PlanID, RunID: req.RunID})
	}
	return l, err
}

// ReleaseLock implements store.Locks.
func (s lockEvents) ReleaseLock(ctx context.Context, f store.Fence) error {
	err := s.Store.ReleaseLock(ctx, f)
	if err == nil {
		s.record(ctx, meridian.Event{Type: meridian.EventLockReleased, RepoID: f.Key.RepoID, Target: f.Key.Target})
	}
	return err
}

// ForceUnlock implements store.Locks.
func (s lockEvents) ForceUnlock(ctx context.Context, key store.LockKey, actor, reason string) (store.Lock, bool, error) {
	l, ok, err := s.Store.ForceUnlock(ctx, key, actor, reason)
	if err == nil && ok {
		s.record(ctx, meridian.Event{Type: meridian.EventLockReleased, RepoID: key.RepoID, Target: key.Target, RunID: l.RunID})
	}
	return l, ok, err
}

func (s lockEvents) record(ctx context.Context, ev meridian.Event) {
	if _, err := s.rec.Record(context.WithoutCancel(ctx), ev); err != nil {
		s.log.ErrorContext(ctx, "record lock event", "type", ev.Type, "target", ev.Target, "err", err)
	}
}
