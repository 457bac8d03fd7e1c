package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/store/storetest"
)

// mustOpen opens a store on a fresh database of the test server.
func mustOpen(tb testing.TB, now func() time.Time) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), postgrestest.NewDatabase(tb), postgres.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store { return mustOpen(t, now) })
}

func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T, now func() time.Time) storetest.ServerStore { return mustOpen(t, now) })
}

func TestDashboardConformance(t *testing.T) {
	storetest.RunDashboard(t, func(t *testing.T, now func() time.Time) storetest.DashboardStore { return mustOpen(t, now) })
}

// TestTwoHandlesShareLocks opens the same database twice, as two replicas
// do, and checks that their locks exclude each other.
func TestTwoHandlesShareLocks(t *testing.T) {
	ctx := context.Background()
	u := postgrestest.NewDatabase(t)
	var dbs [2]*postgres.DB
	for i := range dbs {
		db, err := postgres.Open(ctx, u, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	key := store.LockKey{RepoID: "r", Target: "t"}
	if _, err := dbs[0].AcquireLock(ctx, store.LockRequest{Key: key, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[1].AcquireLock(ctx, store.LockRequest{Key: key, TTL: time.Minute}); !store.IsLockHeld(err) {
		t.Errorf("second handle got the lock: %v", err)
	}
	// Waiters of both replicas share one queue, first come, first served.
	storetest.FairQueue(t, []store.Locks{dbs[0], dbs[1]})
}

// TestConcurrentFreshOpen: several processes (here handles of their own)
// opening a new database at once all succeed, and each migration is
// applied once.
func TestConcurrentFreshOpen(t *testing.T) {
	for round := range 3 {
		u := postgrestest.NewDatabase(t)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		dbs := make([]*postgres.DB, 6)
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = postgres.Open(context.Background(), u, postgres.Options{}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: open %d: %v", round, i, err)
			}
			defer dbs[i].Close()
			if err := dbs[i].Ping(context.Background()); err != nil {
				t.Errorf("round %d: ping %d: %v", round, i, err)
			}
		}
		n, err := postgres.QueryIntForTest(context.Background(), dbs[0], `SELECT COUNT(*) FROM schema_migrations`)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(postgres.MigrationsForTest()); n != want {
			t.Errorf("round %d: %d migrations recorded, want %d", round, n, want)
		}
	}
}

func TestAuditLogAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	if err := db.AppendAudit(ctx, store.AuditEvent{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET actor = 'mallory'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		err := postgres.ExecForTest(ctx, db, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want the append-only trigger to refuse", q, err)
		}
	}
	if es, err := db.ListAudit(ctx, store.AuditFilter{}); err != nil || len(es) != 1 || es[0].Actor != "" {
		t.Errorf("audit log after the refused writes: %+v, %v", es, err)
	}
}

// TestEventIDsFollowCommitOrder: a writer whose transaction is still open
// holds the next writer back, so an event with a lower ID can never become
// visible after one with a higher ID (a subscriber that already read past
// it would miss it).
func TestEventIDsFollowCommitOrder(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	slow, tx, err := postgres.AppendEventsOpen(ctx, db, []meridian.Event{{Type: meridian.EventLockAcquired, RunID: "slow"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	type result struct {
		evs []meridian.Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		evs, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventLockAcquired, RunID: "fast"}})
		done <- result{evs, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("an append committed (IDs %v, %v) while an earlier one (ID %d) was still open", ids(r.evs), r.err, slow[0].ID)
	case <-time.After(300 * time.Millisecond):
	}
	// What a subscriber sees meanwhile: nothing, not the later event.
	if seen, err := db.EventsAfter(ctx, 0, 0); err != nil || len(seen) != 0 {
		t.Errorf("events visible while the first append is open: %v, %v", ids(seen), err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.evs[0].ID <= slow[0].ID {
		t.Errorf("the append that committed second got ID %d, not above the first's %d", r.evs[0].ID, slow[0].ID)
	}
}

// TestEventsNoneMissedUnderLoad tails the log while writers append: a
// subscriber that always asks for the events after the last ID it saw must
// see every event exactly once.
func TestEventsNoneMissedUnderLoad(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	const writers, batches = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				if _, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventLockAcquired, RunID: fmt.Sprint(w, "-", b)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	seen := map[int64]int{}
	var last int64
	for finished := false; ; {
		select {
		case <-stop:
			finished = true
		default:
		}
		page, err := db.EventsAfter(ctx, last, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			seen[e.ID]++
			last = e.ID
		}
		if finished && len(page) == 0 {
			break
		}
	}
	all, err := db.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*batches {
		t.Fatalf("%d events in the log, want %d", len(all), writers*batches)
	}
	for _, e := range all {
		if seen[e.ID] != 1 {
			t.Errorf("event %d seen %d times by the tailing subscriber, want once", e.ID, seen[e.ID])
		}
	}
}

func ids(evs []meridian.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// TestRedact: a connection URL's password never reaches logs or errors.
func TestRedact(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"UserInfo": {"the usual place for a password", "postgres://meridian:s3cret@db:5432/meridian?sslmode=require",
			"postgres://meridian:xxxxx@db:5432/meridian?sslmode=require"},
		"QueryParam": {"libpq also reads password= from the query", "postgresql://db/meridian?password=s3cret&sslmode=disable",
			"postgresql://db/meridian?password=xxxxx&sslmode=disable"},
		"KeyValue": {"pgx accepts libpq key=value strings too", "host=db user=meridian password=s3cret dbname=m",
			"host=db user=meridian password=xxxxx dbname=m"},
		"Unparsable": {"a URL net/url refuses is still redacted", "postgres://meridian:s3cret@db:notaport/m",
			"postgres://meridian:xxxxx@db:notaport/m"},
		"NoPassword": {"nothing to hide stays as it is", "postgres://meridian@127.0.0.1:5432/postgres?sslmode=disable",
			"postgres://meridian@127.0.0.1:5432/postgres?sslmode=disable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, postgres.Redact(tc.in)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestOpenErrorHidesPassword: a server that cannot be reached or a URL
// that does not parse fails Open without the password in the message.
func TestOpenErrorHidesPassword(t *testing.T) {
	cases := map[string]string{
		"Unreachable": "postgres://meridian:s3cret@127.0.0.1:1/meridian?connect_timeout=2",
		"BadPort":     "postgres://meridian:s3cret@127.0.0.1:notaport/meridian",
		"BadParam":    "postgres://meridian:s3cret@127.0.0.1:1/meridian?pool_max_conns=many",
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db, err := postgres.Open(ctx, u, postgres.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %v", err)
			}
			if name == "Unreachable" && !store.IsUnavailable(err) {
				t.Errorf("an unreachable server: %v, want a store.UnavailableError", err)
			}
		})
	}
}

// TestNegativeLimitReadsNothing: a limit that overflowed must not turn
// into "no LIMIT".
func TestNegativeLimitReadsNothing(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	for range 3 {
		if err := db.AppendAudit(ctx, store.AuditEvent{Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for limit, want := range map[int]int{0: 3, 2: 2, -1: 0, -9223372036854775808: 0} {
		es, err := db.ListAudit(ctx, store.AuditFilter{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != want {
			t.Errorf("Limit %d: %d rows, want %d", limit, len(es), want)
		}
	}
}

// TestPingReadOnly: a database that takes no writes fails Ping, as an
// unavailable store (so /readyz reports it), while reads still work.
func TestPingReadOnly(t *testing.T) {
	ctx := context.Background()
	u := postgrestest.NewDatabase(t)
	db, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping on a writable database: %v", err)
	}
	// The setting applies to connections opened after it.
	if err := postgres.ExecForTest(ctx, db, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	ro, err := postgres.ReopenForTest(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.ListAudit(ctx, store.AuditFilter{}); err != nil {
		t.Errorf("a read on the read-only database: %v", err)
	}
	if err := ro.Ping(ctx); !store.IsUnavailable(err) {
		t.Errorf("Ping on a read-only database: %v, want a store.UnavailableError", err)
	}
}

// TestTerminatedConnectionIsUnavailable: a connection the server ends (a
// restart, an operator's pg_terminate_backend) fails the query in flight
// as an unavailable store, and the pool serves the next one.
func TestTerminatedConnectionIsUnavailable(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	other := mustOpen(t, nil)
	done := make(chan error, 1)
	go func() {
		_, err := postgres.QueryIntForTest(ctx, db, `SELECT pg_sleep(30)::text::int`)
		done <- err
	}()
	// Wait for the sleeper, then end it from another database's handle.
	var ended int64
	for start := time.Now(); ended == 0 && time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		var err error
		ended, err = postgres.QueryIntForTest(ctx, other, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
	}
	if ended == 0 {
		t.Fatal("the sleeping query never showed up")
	}
	if err := <-done; !store.IsUnavailable(err) {
		t.Errorf("the ended query: %v, want a store.UnavailableError", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after the connection was ended: %v, want the pool to reconnect", err)
	}
}

// TestRepeatedPlanWritesDocumentOnce: PostgreSQL writes a new row version
// (and new TOAST chunks) for every UPDATE, identical or not, so a re-save
// of an unchanged plan must not write its document again, or every
// re-plan of a large fleet leaves megabytes of dead rows behind.
func TestRepeatedPlanWritesDocumentOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	p := store.PlanRecord{ID: "big", RepoID: "r1", Source: "/r", Ref: "main", Document: storetest.LargePlanDocument("big", 8<<20, 3)}
	if err := db.SavePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	st, err := db.PlanStats(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	const size = `SELECT pg_total_relation_size('plans')`
	before, err := postgres.QueryIntForTest(ctx, db, size)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		p.CreatedAt = time.Now()
		if err := db.SavePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	after, err := postgres.QueryIntForTest(ctx, db, size)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew > st.StoredBytes/2 {
		t.Errorf("three re-saves of an unchanged plan grew the plans table by %d bytes; its compressed document is %d: it must be written once", grew, st.StoredBytes)
	}
}
