package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestFileMode: the database and its WAL files hold token hashes and
// plans, so only their owner may read them, whatever the umask.
func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meridian.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AppendAudit(context.Background(), store.AuditEvent{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
		}
	}
}

// TestConcurrentFreshOpen: several processes (here goroutines with handles
// of their own) opening a database that does not exist yet all succeed,
// and the migrations are applied once.
func TestConcurrentFreshOpen(t *testing.T) {
	for round := range 15 {
		path := filepath.Join(t.TempDir(), fmt.Sprint("fresh", round, ".db"))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		dbs := make([]*sqlite.DB, 8)
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = sqlite.Open(context.Background(), path, sqlite.Options{}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: open %d: %v", round, i, err)
				continue
			}
			if err := dbs[i].Ping(context.Background()); err != nil {
				t.Errorf("round %d: ping %d: %v", round, i, err)
			}
			dbs[i].Close()
		}
	}
}

// TestFullDatabaseIsUnavailable fills a database capped by max_page_count
// (a real SQLITE_FULL from the engine, as on a full disk): writes must fail
// as EUNAVAILABLE, not as internal errors, and Ping must fail although
// reads still work.
func TestFullDatabaseIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A cap below the current size is raised to it: the file is full now.
	db, err = sqlite.Open(ctx, path, sqlite.Options{MaxPageCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); meridian.ErrorCode(err) != meridian.EUNAVAILABLE {
		t.Errorf("Ping of a full database = %v, want EUNAVAILABLE", err)
	}
	var werr error
	for i := 0; werr == nil && i < 10000; i++ {
		werr = db.AppendAudit(ctx, store.AuditEvent{Action: "fill", Detail: fmt.Sprintf("%0500d", i)})
	}
	if meridian.ErrorCode(werr) != meridian.EUNAVAILABLE || !store.IsUnavailable(werr) {
		t.Fatalf("write to a full database = %v (code %q), want EUNAVAILABLE", werr, meridian.ErrorCode(werr))
	}
	var ue *store.UnavailableError
	if errors.As(werr, &ue); ue.Reason != "database or disk is full" {
		t.Errorf("reason %q", ue.Reason)
	}
	if _, err := db.ListAudit(ctx, store.AuditFilter{Limit: 1}); err != nil {
		t.Errorf("reads must still work: %v", err)
	}
	if _, err := db.TokenByHash(ctx, "nope"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("a missing row is still ENOTFOUND: %v", err)
	}
}

// TestNegativeLimitReadsNothing: a limit that overflowed (offset + page
// size past MaxInt) must not turn into "no LIMIT".
func TestNegativeLimitReadsNothing(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	defer db.Close()
	for range 3 {
		if err := db.AppendAudit(ctx, store.AuditEvent{Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]struct {
		limit, want int
	}{
		"Zero":     {0, 3},
		"Two":      {2, 2},
		"Overflow": {-9223372036854775808, 0},
		"Negative": {-1, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			es, err := db.ListAudit(ctx, store.AuditFilter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != tc.want {
				t.Errorf("Limit %d: %d rows, want %d", tc.limit, len(es), tc.want)
			}
		})
	}
}
