package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/storetest"
)

// mustOpen opens a fresh database in a temporary folder.
func mustOpen(tb testing.TB, now func() time.Time) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "meridian.db"), sqlite.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store { return mustOpen(t, now) })
}

// TestTwoHandlesShareLocks opens the same file twice, as two meridian
// processes do, and checks that their locks exclude each other.
func TestTwoHandlesShareLocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	a, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key := store.LockKey{RepoID: "r", Target: "t"}
	if _, err := a.AcquireLock(ctx, store.LockRequest{Key: key, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AcquireLock(ctx, store.LockRequest{Key: key, TTL: time.Minute}); !store.IsLockHeld(err) {
		t.Errorf("second handle got the lock: %v", err)
	}
	// Waiters of both processes share one queue, first come, first served.
	storetest.FairQueue(t, []store.Locks{a, b})
}

func TestMigrationsIdempotentAndWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	for range 2 {
		db, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("reopening must not re-run migrations: %v", err)
		}
		db.Close()
	}
	if v := sqlite.SchemaVersion(); v < 2 {
		t.Errorf("SchemaVersion = %d, want at least 2", v)
	}
	mode, err := sqlite.JournalMode(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
}

func TestAuditLogAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	defer db.Close()
	if err := db.AppendAudit(ctx, store.AuditEvent{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET actor = 'mallory'`, `DELETE FROM audit_log`} {
		err := sqlite.ExecForTest(ctx, db, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want the append-only trigger to refuse", q, err)
		}
	}
}
