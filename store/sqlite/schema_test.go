package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/sqlstore"
	"github.com/meridianhq/meridian/store/storetest"
)

// rawDB is a plain handle on the database at path, closed when the test
// ends.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// buildDB returns a storetest.SchemaBackend.Build that writes the database
// in the journal mode given (meridian leaves WAL; a backup made with
// VACUUM INTO is in rollback mode, DELETE). Its handle is closed before
// it returns, as another meridian's would be.
func buildDB(journal string) func(t *testing.T, apply []sqlstore.Migration, foreign []store.SchemaMigration) string {
	return func(t *testing.T, apply []sqlstore.Migration, foreign []store.SchemaMigration) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "meridian.db")
		raw, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := raw.ExecContext(context.Background(), q, args...); err != nil {
				t.Fatalf("%.60s: %v", q, err)
			}
		}
		exec(`PRAGMA journal_mode = ` + journal)
		exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
		for _, m := range apply {
			exec(m.SQL)
			exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name)
		}
		for _, m := range foreign {
			exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name)
		}
		return path
	}
}

// TestOpenRefusesUnknownSchema: storetest.RunSchema on SQLite, with cases
// of its own. A refused database must stay byte for byte as it was: the
// snapshot is every file of its folder (the database, and a -wal or -shm
// file if one is left) with the SHA-256 of its content.
func TestOpenRefusesUnknownSchema(t *testing.T) {
	ms, err := sqlstore.LoadMigrations(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.SchemaBackend{
		Migrations: os.DirFS("migrations"),
		Build:      buildDB("WAL"),
		Open: func(ctx context.Context, path string) (io.Closer, error) {
			return sqlite.Open(ctx, path, sqlite.Options{})
		},
		Name: func(path string) string { return path },
		Raw:  func(t *testing.T, path string) sqlstore.RowsQuerier { return rawDB(t, path) },
		Snapshot: func(t *testing.T, path string) any {
			dir := filepath.Dir(path)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][32]byte{}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				out[e.Name()] = sha256.Sum256(b)
			}
			return out
		},
	}
	future := store.SchemaMigration{Version: ms[len(ms)-1].Version + 1, Name: "from_the_future"}
	dev := store.SchemaMigration{Version: 7, Name: "dev_experiment"}
	storetest.RunSchema(t, b, map[string]storetest.SchemaCase{
		"newer, restored from a backup": {
			Reason:  "a newer meridian's database copied with VACUUM INTO is in rollback-journal mode: even the switch to WAL would change it",
			Build:   buildDB("DELETE"),
			Apply:   func(int) bool { return true },
			Foreign: []store.SchemaMigration{future},
			Want:    &store.SchemaError{Unknown: []store.SchemaMigration{future}},
		},
		"unknown version in a gap": {
			Reason:  "a development build recorded a migration 7, a number this binary never had; it would otherwise apply 8 and on to a schema they were not written for",
			Apply:   func(v int) bool { return v < 7 },
			Foreign: []store.SchemaMigration{dev},
			Want:    &store.SchemaError{Unknown: []store.SchemaMigration{dev}},
			Say:     "migrations this meridian does not have: 7 (dev_experiment) (recorded versions: 1-7;",
		},
	})
}
