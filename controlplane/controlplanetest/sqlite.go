package controlplanetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian/store/sqlite"
)

// OpenSQLite opens a real SQLite store in t's temporary directory, closed
// when t ends: for the tests of the event log, finding lifecycle and cost
// history, which Store does not keep.
func OpenSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
