package store

import (
	"context"
	"errors"
	"time"
)

// AcquireWait takes a lock, retrying every poll while someone else holds it,
// for at most timeout (zero: fail fast). It returns the last
// *LockHeldError when the time is up. Retrying the non-blocking
// AcquireLock keeps the waiting in one place for every backend; the lease
// bounds how long a dead holder can make others wait.
func AcquireWait(ctx context.Context, l Locks, req LockRequest, timeout, poll time.Duration) (Lock, error) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		lk, err := l.AcquireLock(ctx, req)
		if err == nil || !IsLockHeld(err) || !time.Now().Before(deadline) {
			return lk, err
		}
		t := time.NewTimer(min(poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return Lock{}, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
