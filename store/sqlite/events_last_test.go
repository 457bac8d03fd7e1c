package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store/sqlite"
)

// TestLastEventID checks the position a new subscriber starts from: the
// newest retained event, so that the next event appended is the first it
// gets.
func TestLastEventID(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	last := func() int64 {
		t.Helper()
		id, err := db.LastEventID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if got := last(); got != 0 {
		t.Fatalf("empty log: %d, want 0", got)
	}
	evs, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventLockAcquired}, {Type: meridian.EventLockReleased}})
	if err != nil {
		t.Fatal(err)
	}
	if got := last(); got != evs[1].ID {
		t.Fatalf("after two events: %d, want %d", got, evs[1].ID)
	}
	next, err := db.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventLockAcquired}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := db.EventsAfter(ctx, evs[1].ID, 0)
	if err != nil || len(after) != 1 || after[0].ID != next[0].ID {
		t.Fatalf("events after the last ID = %+v, %v; want only the new one", after, err)
	}
	if _, err := db.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// With the log pruned empty, any later event is new to a subscriber
	// that starts at 0: IDs are never reused.
	if got := last(); got != 0 {
		t.Errorf("pruned log: %d, want 0", got)
	}
}
