package edge_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/store/storetest"
)

// sharedStore is what two replicas share: the edge records and the event
// log their transitions go to.
type sharedStore interface {
	edge.Store
	edge.CredentialStore
	EventsAfter(ctx context.Context, afterID int64, n int) ([]meridian.Event, error)
}

// gate makes the next reads of the edge sites by two replicas wait for
// each other, so that both assess the same record before either writes:
// the race of two replicas that see one change at once, every time.
type gate struct {
	mu      sync.Mutex
	waiting int
	release chan struct{}
}

// arm makes the next two reads meet.
func (g *gate) arm() {
	g.mu.Lock()
	g.waiting, g.release = 2, make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) pass() {
	g.mu.Lock()
	if g.waiting == 0 {
		g.mu.Unlock()
		return
	}
	g.waiting--
	release := g.release
	if g.waiting == 0 {
		close(release)
	}
	g.mu.Unlock()
	<-release
}

// gatedStore is a replica's view of the shared store, through the gate.
type gatedStore struct {
	sharedStore
	g *gate
}

func (s gatedStore) GetEdgeSite(ctx context.Context, site string) (store.EdgeSite, error) {
	rec, err := s.sharedStore.GetEdgeSite(ctx, site)
	s.g.pass()
	return rec, err
}

func (s gatedStore) ListEdgeSites(ctx context.Context) ([]store.EdgeSite, error) {
	recs, err := s.sharedStore.ListEdgeSites(ctx)
	s.g.pass()
	return recs, err
}

// TestReplicasAnnounceOnce: two replicas on one store (SQLite file, and
// PostgreSQL when MERIDIAN_TEST_POSTGRES is set) both see each change of
// a site's health at the same moment, by a sweep or by a report, and the
// feed holds exactly one event per change.
func TestReplicasAnnounceOnce(t *testing.T) {
	backends := map[string]func(t *testing.T, now func() time.Time) []sharedStore{
		"sqlite": func(t *testing.T, now func() time.Time) []sharedStore {
			path := filepath.Join(t.TempDir(), "m.db")
			return []sharedStore{openSQLite(t, path, now), openSQLite(t, path, now)}
		},
		"postgres": func(t *testing.T, now func() time.Time) []sharedStore {
			url := postgrestest.NewDatabase(t)
			var out []sharedStore
			for range 2 {
				db, err := postgres.Open(context.Background(), url, postgres.Options{Now: now})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				out = append(out, db)
			}
			return out
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { testReplicasAnnounceOnce(t, open) })
	}
}

func testReplicasAnnounceOnce(t *testing.T, open func(t *testing.T, now func() time.Time) []sharedStore) {
	ctx := context.Background()
	clock := storetest.NewClock()
	dbs := open(t, clock.Now)
	registerSite(t, dbs[0], "edge-a", clock.Now())
	src := &fakeSource{}
	src.set("c1", "p1")
	rev := edge.Revision("c1", "p1")
	key := testKey(t)
	g := &gate{}
	var replicas []*edge.Service
	for _, db := range dbs {
		s := edge.NewService(src, gatedStore{db, g}, key, edge.Options{Now: clock.Now, StaleAfter: 3 * time.Minute})
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, s)
	}
	report := func(code string) []byte {
		return []byte(`{"labels":{"id":"opa-1"},"bundles":{"meridian":{"name":"meridian","active_revision":"` + rev + `","code":"` + code + `"}}}`)
	}
	// both runs f on each replica at once, their reads meeting at the gate.
	both := func(f func(s *edge.Service) error) {
		t.Helper()
		g.arm()
		errs := make([]error, len(replicas))
		var wg sync.WaitGroup
		for i, s := range replicas {
			wg.Go(func() { errs[i] = f(s) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("replica %d: %v", i, err)
			}
		}
	}
	sweep := func(s *edge.Service) error { return s.Sweep(ctx) }

	// reports runs one report on each replica at once (an agent's retry
	// taken by the other replica, say).
	reports := func(code string) func(s *edge.Service) error {
		return func(s *edge.Service) error { return s.Report(ctx, "edge-a", report(code)) }
	}
	events := func() []meridian.EventType {
		t.Helper()
		evs, err := dbs[1].EventsAfter(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []meridian.EventType
		for _, e := range evs {
			out = append(out, e.Type)
		}
		return out
	}

	if err := replicas[0].Report(ctx, "edge-a", report("")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Minute)
	both(sweep) // both find it silent for too long
	both(sweep) // and again: nothing new
	clock.Advance(time.Second)
	both(reports("bundle_error"))
	clock.Advance(time.Second)
	both(reports(""))
	want := []meridian.EventType{meridian.EventEdgeSiteStale, meridian.EventEdgeSiteFailing, meridian.EventEdgeSiteRecovered}
	if diff := cmp.Diff(want, events()); diff != "" {
		t.Errorf("events of the two replicas (-want +got): one per change of health\n%s", diff)
	}

	// A report taken by one replica while the other's sweep finds the
	// site silent: whichever writes first, the report is kept, and the
	// feed tells a consistent story (nothing, or stale then recovered).
	clock.Advance(4 * time.Minute)
	both(func(s *edge.Service) error {
		if s == replicas[0] {
			return s.Report(ctx, "edge-a", report(""))
		}
		return s.Sweep(ctx)
	})
	got := events()[len(want):]
	if len(got) != 0 && !cmp.Equal(got, []meridian.EventType{meridian.EventEdgeSiteStale, meridian.EventEdgeSiteRecovered}) {
		t.Errorf("events of a report racing a sweep = %v, want none, or stale then recovered", got)
	}
	rec, err := dbs[0].GetEdgeSite(ctx, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Health != store.EdgeOK || !rec.LastSeen.Equal(clock.Now()) {
		t.Errorf("site after a report racing a sweep = %+v, want ok, seen now: no report lost to the sweep", rec)
	}
}

// TestFollowerDoesNotSweep: Run (what every replica runs) builds bundles
// but never assesses the sites by the clock; RunAssessor (the leader's)
// does.
func TestFollowerDoesNotSweep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := storetest.NewClock()
	db := openSQLite(t, filepath.Join(t.TempDir(), "m.db"), clock.Now)
	registerSite(t, db, "edge-a", clock.Now())
	src := &fakeSource{}
	src.set("c1", "p1")
	s := edge.NewService(src, db, testKey(t), edge.Options{Now: clock.Now, StaleAfter: 400 * time.Millisecond})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Report(ctx, "edge-a", []byte(`{"bundles":{"meridian":{"active_revision":"`+edge.Revision("c1", "p1")+`"}}}`)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	go s.Run(ctx)
	time.Sleep(500 * time.Millisecond) // several of Run's ticks (100ms)
	if evs, _ := db.EventsAfter(ctx, 0, 10); len(evs) != 0 {
		t.Fatalf("a replica that does not lead appended %+v", evs)
	}
	go s.RunAssessor(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := db.EventsAfter(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 1 && evs[0].Type == meridian.EventEdgeSiteStale {
			break
		}
		if len(evs) > 1 || time.Now().After(deadline) {
			t.Fatalf("events = %+v, want the leader's one edge.site_stale", evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
