package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// WaitOptions tunes AcquireWait. Zero values mean the defaults.
type WaitOptions struct {
	// Timeout is how long to wait for the lock; zero fails at once with
	// the holder, without queueing.
	Timeout time.Duration
	// Poll is how often the waiter asks again (default 250ms).
	Poll time.Duration
	// WaitTTL is how long the waiter's place in the queue lasts without
	// asking again (default 20 polls, at least 5s): how long a killed
	// waiter holds up the ones behind it.
	WaitTTL time.Duration
	// OnWait, when set, is told of the waiter's place whenever it changes
	// (the first refusal included), e.g. to log "position 2 of 3".
	OnWait func(*LockHeldError)
}

// AcquireWait takes a lock, waiting in the lock's queue while someone else
// holds it or earlier waiters come first, for at most o.Timeout. Waiters
// get the lock first come, first served, across processes (see Locks). It
// returns the last *LockHeldError when the time is up, and leaves the
// queue whenever it returns without the lock. Polling the non-blocking
// AcquireLock keeps the waiting in one place for every backend; the lease
// bounds how long a dead holder, and WaitTTL how long a dead waiter, can
// make others wait.
func AcquireWait(ctx context.Context, l Locks, req LockRequest, o WaitOptions) (Lock, error) {
	if o.Timeout <= 0 {
		req.Waiter = ""
		return l.AcquireLock(ctx, req)
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.WaitTTL <= 0 {
		o.WaitTTL = max(20*o.Poll, 5*time.Second)
	}
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	req.Waiter, req.WaitTTL = hex.EncodeToString(b[:]), o.WaitTTL
	deadline := time.Now().Add(o.Timeout)
	var last *LockHeldError
	for {
		lk, err := l.AcquireLock(ctx, req)
		var held *LockHeldError
		if err == nil || !errors.As(err, &held) {
			if err != nil {
				leave(ctx, l, req)
			}
			return lk, err
		}
		if o.OnWait != nil && (last == nil || held.Position != last.Position || held.Waiters != last.Waiters || held.Holder.Token != last.Holder.Token) {
			o.OnWait(held)
		}
		last = held
		if !time.Now().Before(deadline) {
			leave(ctx, l, req)
			return lk, err
		}
		t := time.NewTimer(min(o.Poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			leave(ctx, l, req)
			return Lock{}, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

// leave takes a request that gave up out of its queue, so that those
// behind it need not wait for its place to expire. It is best effort: a
// place left behind expires after WaitTTL.
func leave(ctx context.Context, l Locks, req LockRequest) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = l.LeaveLockQueue(ctx, req.Key, req.Waiter)
}
