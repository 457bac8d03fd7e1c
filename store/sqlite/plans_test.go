package sqlite_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/storetest"
)

// TestRepeatedLargePlanKeepsFileSmall is issue 19's report: the same
// large plan saved three times made a 244 MB file. Saved compressed and
// once per plan ID, the file holds about one compressed copy, and a
// re-save writes (to the WAL) only what changed: the plan's metadata and
// targets. (SQLite leaves identical overflow pages alone by itself;
// PostgreSQL does not, see TestRepeatedPlanWritesDocumentOnce there.)
func TestRepeatedLargePlanKeepsFileSmall(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, nil)
	defer db.Close()
	doc := storetest.LargePlanDocument("big", 16<<20, 3)
	p := store.PlanRecord{ID: "big", RepoID: "r1", Source: "/r", Ref: "main", Document: doc}
	size := func() (file, wal int64) {
		t.Helper()
		for i, suffix := range []string{"", "-wal"} {
			fi, err := os.Stat(db.Path() + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				file = fi.Size()
			} else {
				wal = fi.Size()
			}
		}
		return file, wal
	}
	if err := db.SavePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	st, err := db.PlanStats(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes of plan JSON stored in %d bytes", st.RawBytes, st.StoredBytes)
	if err := sqlite.CheckpointForTest(ctx, db); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p.CreatedAt = time.Now()
		if err := db.SavePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, wal := size(); wal > st.StoredBytes/4 {
		t.Errorf("two re-saves of an unchanged plan wrote %d bytes to the WAL, the compressed document is %d: it must not be written again", wal, st.StoredBytes)
	}
	if err := sqlite.CheckpointForTest(ctx, db); err != nil {
		t.Fatal(err)
	}
	if file, _ := size(); file > st.StoredBytes+1<<20 {
		t.Errorf("after three saves of one %d-byte plan the file holds %d bytes, want about one compressed copy (%d)", len(doc), file, st.StoredBytes)
	}
}
