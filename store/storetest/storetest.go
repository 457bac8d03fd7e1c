// Package storetest is the conformance suite every store.Store backend
// runs, so that the SQLite backend and a later PostgreSQL backend behave
// the same: locks exclude each other, expired leases are taken over with a
// new fencing token, interrupted runs never become succeeded, ledger
// writes are fenced, and GitOps moves are replaced per scope all at once.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
)

// Clock is a manual clock for lease tests: backends must read time only
// through the function they are opened with.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Opener returns a fresh, empty store that reads time from now. The suite
// closes it.
type Opener func(t *testing.T, now func() time.Time) store.Store

// Run runs the whole suite against the backend.
func Run(t *testing.T, open Opener) {
	t.Run("Repos", func(t *testing.T) { testRepos(t, open) })
	t.Run("Plans", func(t *testing.T) { testPlans(t, open) })
	t.Run("PlanStorage", func(t *testing.T) { testPlanStorage(t, open) })
	t.Run("PlanRetention", func(t *testing.T) { testPlanRetention(t, open) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, open) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, open) })
	t.Run("LockTakeover", func(t *testing.T) { testLockTakeover(t, open) })
	t.Run("ForceUnlock", func(t *testing.T) { testForceUnlock(t, open) })
	t.Run("LockRace", func(t *testing.T) { testLockRace(t, open) })
	t.Run("AcquireWait", func(t *testing.T) { testAcquireWait(t, open) })
	t.Run("LockQueue", func(t *testing.T) { testLockQueue(t, open) })
	t.Run("LockQueueOrder", func(t *testing.T) { testLockQueueOrder(t, open) })
	t.Run("Ledger", func(t *testing.T) { testLedger(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Moves", func(t *testing.T) { testMoves(t, open) })
	t.Run("MovesFenced", func(t *testing.T) { testMovesFenced(t, open) })
	t.Run("History", func(t *testing.T) { testHistory(t, open) })
	t.Run("Alerts", func(t *testing.T) { testAlerts(t, open) })
}

func openWith(t *testing.T, open Opener) (store.Store, *Clock) {
	t.Helper()
	return openClosing(t, open)
}
