package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestEventsSurviveRestart appends events through two handles on one file
// at once (as two meridian processes do), closes both, reopens the file and
// checks that a subscriber resuming after any ID gets exactly the events
// after it: none lost by the restart, none delivered twice.
func TestEventsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meridian.db")
	var handles []*sqlite.DB
	for range 2 {
		db, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, db)
	}
	var mu sync.Mutex
	var appended []meridian.Event
	var wg sync.WaitGroup
	for w := range 6 {
		db := handles[w%len(handles)]
		wg.Go(func() {
			for i := range 10 {
				got, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyStarted, RunID: fmt.Sprintf("w%d-%d", w, i)}})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				appended = append(appended, got...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, db := range handles {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 60 || len(appended) != 60 {
		t.Fatalf("%d events after reopening, %d appended; want 60", len(all), len(appended))
	}
	byID := map[int64]string{}
	for _, e := range appended {
		byID[e.ID] = e.RunID
	}
	for i, e := range all {
		if byID[e.ID] != e.RunID {
			t.Errorf("event %d: ID %d holds run %q, AppendEvents returned it for %q", i, e.ID, e.RunID, byID[e.ID])
		}
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("event %d: ID %d not above %d", i, e.ID, all[i-1].ID)
		}
	}
	for _, k := range []int{0, 1, 29, 58, 59} {
		after := all[k].ID
		got, err := db.EventsAfter(ctx, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all[k+1:], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("EventsAfter(%d) after a restart (-want +got):\n%s", after, diff)
		}
	}
}
