package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
)

var (
	alice = store.Owner{Host: "host-a", PID: 100, Actor: "alice"}
	bob   = store.Owner{Host: "host-b", PID: 200, Actor: "bob"}
)

func testLocks(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	a, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, PlanID: "p1", RunID: "run-a", TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, TTL: 30 * time.Second})
	var held *store.LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second AcquireLock = %v, want *LockHeldError", err)
	}
	if held.Holder.Owner != alice || held.Holder.PlanID != "p1" || held.Holder.RunID != "run-a" {
		t.Errorf("LockHeldError must name the holder, got %+v", held.Holder)
	}
	// Another target and another repo are independent.
	for _, k := range []store.LockKey{{RepoID: "r1", Target: "t2"}, {RepoID: "r2", Target: "t1"}} {
		if _, err := s.AcquireLock(ctx, store.LockRequest{Key: k, Owner: bob, TTL: time.Minute}); err != nil {
			t.Errorf("lock %+v must be independent of %+v: %v", k, key, err)
		}
	}
	c.Advance(20 * time.Second)
	renewed, err := s.RenewLock(ctx, a.Fence(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.ExpiresAt.Equal(c.Now().Add(30 * time.Second).Truncate(time.Millisecond)) {
		t.Errorf("renewed lease expires %v, want now+30s", renewed.ExpiresAt)
	}
	c.Advance(20 * time.Second) // 40s after acquiring, but within the renewed lease
	if _, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, TTL: time.Minute}); !store.IsLockHeld(err) {
		t.Errorf("a renewed lease must keep the lock, got %v", err)
	}
	if err := s.CheckFence(ctx, a.Fence()); err != nil {
		t.Errorf("holder's fence: %v", err)
	}
	locks, err := s.ListLocks(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 2 {
		t.Errorf("ListLocks(r1) = %d locks, want 2", len(locks))
	}
	if err := s.ReleaseLock(ctx, a.Fence()); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLock(ctx, a.Fence()); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("releasing twice = %v, want ErrLockLost", err)
	}
	if err := s.CheckFence(ctx, a.Fence()); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("fence after release = %v, want ErrLockLost", err)
	}
	b, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, TTL: time.Minute})
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	if b.Token <= a.Token {
		t.Errorf("fencing token went from %d to %d; it must grow", a.Token, b.Token)
	}
}

func testLockTakeover(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	for _, r := range []store.Run{
		{ID: "run-a", RepoID: "r1", Kind: store.RunApply, PlanID: "p1", Owner: alice},
		{ID: "run-a/t1", ParentID: "run-a", RepoID: "r1", Kind: store.RunApply, PlanID: "p1", Target: "t1", Owner: alice},
		{ID: "run-a/t2", ParentID: "run-a", RepoID: "r1", Kind: store.RunApply, PlanID: "p1", Target: "t2", Owner: alice},
	} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, PlanID: "p1", RunID: "run-a", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// alice is killed: nobody renews, the lease runs out.
	c.Advance(11 * time.Second)
	b, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, PlanID: "p2", RunID: "run-b", TTL: 10 * time.Second})
	if err != nil {
		t.Fatalf("an expired lease must be taken over: %v", err)
	}
	if b.Token <= a.Token {
		t.Errorf("takeover token %d must exceed %d", b.Token, a.Token)
	}
	for id, want := range map[string]store.RunStatus{"run-a": store.RunInterrupted, "run-a/t1": store.RunInterrupted, "run-a/t2": store.RunRunning} {
		r, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("run %s is %s after the takeover of t1, want %s", id, r.Status, want)
		}
	}
	// Every write of the old holder is fenced out.
	if _, err := s.RenewLock(ctx, a.Fence(), time.Minute); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("old holder RenewLock = %v, want ErrLockLost", err)
	}
	if err := s.ReleaseLock(ctx, a.Fence()); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("old holder ReleaseLock = %v, want ErrLockLost", err)
	}
	fa := a.Fence()
	if err := s.RecordApplied(ctx, fa, store.AppliedTarget{RepoID: "r1", Target: "t1", PlanID: "p1"}, nil); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("old holder RecordApplied = %v, want ErrLockLost", err)
	}
	if err := s.FinishRun(ctx, "run-a/t1", &fa, store.RunFinish{Status: store.RunSucceeded}); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("old holder FinishRun with its fence = %v, want ErrLockLost", err)
	}
	if err := s.FinishRun(ctx, "run-a/t1", nil, store.RunFinish{Status: store.RunSucceeded}); !errors.Is(err, store.ErrRunNotRunning) {
		t.Errorf("an interrupted run must never become succeeded, FinishRun = %v", err)
	}
	if r, _ := s.GetRun(ctx, "run-a/t1"); r.Status != store.RunInterrupted || r.Error == "" {
		t.Errorf("interrupted run = %+v, want status interrupted with a reason", r)
	}
	ev, err := s.ListAudit(ctx, store.AuditFilter{Action: "lock.takeover"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 1 || ev[0].Target != "t1" || ev[0].Actor != "bob" {
		t.Errorf("takeover must be audited, got %+v", ev)
	}
}

func testForceUnlock(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	if err := s.CreateRun(ctx, store.Run{ID: "run-a", RepoID: "r1", Kind: store.RunApply, Owner: alice}); err != nil {
		t.Fatal(err)
	}
	a, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, PlanID: "p1", RunID: "run-a", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	prev, held, err := s.ForceUnlock(ctx, key, "operator", "host died")
	if err != nil {
		t.Fatal(err)
	}
	if !held || prev.Owner != alice || prev.Token != a.Token {
		t.Errorf("ForceUnlock = %+v, %v; want alice's lock", prev, held)
	}
	if err := s.CheckFence(ctx, a.Fence()); !errors.Is(err, store.ErrLockLost) {
		t.Errorf("fence after force-unlock = %v, want ErrLockLost", err)
	}
	if r, _ := s.GetRun(ctx, "run-a"); r.Status != store.RunInterrupted {
		t.Errorf("holder's run after force-unlock is %s, want interrupted", r.Status)
	}
	ev, err := s.ListAudit(ctx, store.AuditFilter{Action: "lock.force_unlock"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 1 || ev[0].Actor != "operator" || ev[0].RunID != "run-a" {
		t.Errorf("force-unlock must be audited with actor and holder's run, got %+v", ev)
	}
	if _, held, err := s.ForceUnlock(ctx, key, "operator", "again"); err != nil || held {
		t.Errorf("ForceUnlock of a free lock = held %v, err %v; want false, nil", held, err)
	}
	b, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: bob, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if b.Token <= a.Token {
		t.Errorf("token after force-unlock %d must exceed %d", b.Token, a.Token)
	}
}

// testLockRace has many goroutines ask for the same free lock at once:
// exactly one may win.
func testLockRace(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "race"}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: store.Owner{Host: "h", PID: i}, TTL: time.Minute})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !store.IsLockHeld(err):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d goroutines got the lock, want exactly 1", won)
	}
}

func testAcquireWait(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	a, err := s.AcquireLock(ctx, store.LockRequest{Key: key, Owner: alice, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AcquireWait(ctx, s, store.LockRequest{Key: key, Owner: bob, TTL: time.Hour}, store.WaitOptions{}); !store.IsLockHeld(err) {
		t.Fatalf("AcquireWait with no timeout must fail fast, got %v", err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		released <- s.ReleaseLock(ctx, a.Fence())
	}()
	b, err := store.AcquireWait(ctx, s, store.LockRequest{Key: key, Owner: bob, TTL: time.Hour},
		store.WaitOptions{Timeout: time.Minute, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("AcquireWait must get the lock once it is released: %v", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if b.Owner != bob {
		t.Errorf("lock owner %+v, want bob", b.Owner)
	}
}
