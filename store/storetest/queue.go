package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/store"
)

// testLockQueue walks one lock's queue by hand: waiters get places in the
// order they came, a free lock goes to the head only (never to a request
// that did not queue), a dead waiter's place expires, and a waiter that
// gives up leaves.
func testLockQueue(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	req := func(waiter string) store.LockRequest {
		return store.LockRequest{Key: key, Owner: store.Owner{Host: "h", Actor: waiter}, RunID: "run-" + waiter, TTL: time.Hour,
			Waiter: waiter, WaitTTL: time.Minute}
	}
	refused := func(waiter string, position, waiters int, held bool) {
		t.Helper()
		_, err := s.AcquireLock(ctx, req(waiter))
		var e *store.LockHeldError
		if !errors.As(err, &e) {
			t.Fatalf("%q: AcquireLock = %v, want a *LockHeldError", waiter, err)
		}
		if e.Position != position || e.Waiters != waiters || e.Held() != held {
			t.Errorf("%q: refused at position %d of %d (held %t), want %d of %d (held %t): %v", waiter, e.Position, e.Waiters, e.Held(), position, waiters, held, e)
		}
	}
	granted := func(waiter string) store.Lock {
		t.Helper()
		l, err := s.AcquireLock(ctx, req(waiter))
		if err != nil {
			t.Fatalf("%q: AcquireLock = %v, want the lock", waiter, err)
		}
		return l
	}
	holder := granted("") // nobody waits: a request that does not queue gets a free lock
	for i, w := range []string{"w1", "w2", "w3"} {
		refused(w, i+1, i+1, true)
	}
	refused("w2", 2, 3, true) // asking again keeps the place
	refused("", 0, 3, true)
	ws, err := s.ListLockWaiters(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, w := range ws {
		listed = append(listed, fmt.Sprintf("%s@%d", w.Waiter, w.Position))
		if w.Owner.Actor != w.Waiter || w.RunID != "run-"+w.Waiter || w.Key != key || !w.ExpiresAt.After(w.EnqueuedAt) {
			t.Errorf("waiter %+v: want its owner, run, key and lease", w)
		}
	}
	if diff := cmp.Diff([]string{"w1@1", "w2@2", "w3@3"}, listed); diff != "" {
		t.Errorf("ListLockWaiters (-want +got):\n%s", diff)
	}
	if other, err := s.ListLockWaiters(ctx, "r2"); err != nil || len(other) != 0 {
		t.Errorf("another repo's waiters: %+v, %v", other, err)
	}

	if err := s.ReleaseLock(ctx, holder.Fence()); err != nil {
		t.Fatal(err)
	}
	refused("", 0, 3, false) // free, but not for a request that jumps the queue
	refused("w2", 2, 3, false)
	w1 := granted("w1")
	refused("w3", 2, 2, true)
	if err := s.ReleaseLock(ctx, w1.Fence()); err != nil {
		t.Fatal(err)
	}
	// The lease of w1's lock does not matter now; w2 is the head.
	w2 := granted("w2")
	if w2.Token != w1.Token+1 {
		t.Errorf("token %d after %d: the fencing token must grow", w2.Token, w1.Token)
	}

	// w3 stops asking (its process died): past its WaitTTL its place goes.
	c.Advance(2 * time.Minute)
	refused("w4", 1, 1, true)
	if err := s.ReleaseLock(ctx, w2.Fence()); err != nil {
		t.Fatal(err)
	}
	// w4 gives up: it leaves, and a request that does not queue gets the lock.
	if err := s.LeaveLockQueue(ctx, key, "w4"); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveLockQueue(ctx, key, "never-queued"); err != nil {
		t.Errorf("leaving a queue one is not in: %v", err)
	}
	if ws, err := s.ListLockWaiters(ctx, ""); err != nil || len(ws) != 0 {
		t.Errorf("waiters left: %+v, %v", ws, err)
	}
	granted("")
}

// testLockQueueOrder has waiters queue while the lock is held and checks
// that they get it in the order they joined.
func testLockQueueOrder(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	FairQueue(t, []store.Locks{s})
}

// FairQueue checks that waiters get a lock first come, first served when
// they ask through several handles of one store (replicas, or processes on
// one SQLite file; one handle works too): n goroutines queue at once while
// the lock is held, and once it is released they must get it in the order
// of the queue, whatever the timing of their polls.
func FairQueue(t *testing.T, handles []store.Locks) {
	t.Helper()
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "fair"}
	first := handles[0]
	holder, err := first.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var mu sync.Mutex
	var got []string
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		h := handles[i%len(handles)]
		owner := store.Owner{Host: fmt.Sprint("host-", i%len(handles)), PID: i, Actor: fmt.Sprint("waiter-", i)}
		wg.Go(func() {
			l, err := store.AcquireWait(ctx, h, store.LockRequest{Key: key, Owner: owner, RunID: owner.Actor, TTL: time.Hour},
				store.WaitOptions{Timeout: time.Minute, Poll: time.Duration(3+i) * time.Millisecond})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			got = append(got, owner.Actor)
			mu.Unlock()
			// Hold it a moment, so that the others poll in between.
			time.Sleep(5 * time.Millisecond)
			errs <- h.ReleaseLock(ctx, l.Fence())
		})
	}
	var queued []store.LockWaiter
	for start := time.Now(); len(queued) < n; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d of %d waiters queued after 30s", len(queued), n)
		}
		if queued, err = first.ListLockWaiters(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i, w := range queued {
		want = append(want, w.Owner.Actor)
		if w.Position != i+1 {
			t.Errorf("waiter %s listed at position %d, want %d", w.Owner.Actor, w.Position, i+1)
		}
	}
	if err := first.ReleaseLock(ctx, holder.Fence()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waiters got the lock out of the queue's order (-queued +got):\n%s", diff)
	}
}
