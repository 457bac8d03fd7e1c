package postgres_test

import (
	"context"
	"database/sql"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/postgres"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
	"github.com/meridianhq/meridian/store/sqlstore"
	"github.com/meridianhq/meridian/store/storetest"
)

// testPassword is a password parameter that the test server ignores (it
// trusts loopback connections) but that no error may show.
const testPassword = "hunter2-secret"

// rawDB is a plain handle on the database at u, closed when the test ends.
func rawDB(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// buildDB is storetest.SchemaBackend's Build on a new database of the test
// server, whose URL it returns with testPassword in it.
func buildDB(t *testing.T, apply []sqlstore.Migration, foreign []store.SchemaMigration) string {
	t.Helper()
	u := postgrestest.NewDatabase(t)
	raw := rawDB(t, u)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(context.Background(), q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	for _, m := range apply {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name)
	}
	for _, m := range foreign {
		exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name)
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "password=" + testPassword
}

// migrations are this package's migrations, oldest first.
func migrations(t *testing.T) []sqlstore.Migration {
	t.Helper()
	ms, err := sqlstore.LoadMigrations(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestOpenRefusesUnknownSchema: storetest.RunSchema on PostgreSQL, with a
// case of its own. A refused database must keep its tables and its
// schema_migrations rows as they were, and no error may show the URL's
// password.
func TestOpenRefusesUnknownSchema(t *testing.T) {
	ms := migrations(t)
	b := storetest.SchemaBackend{
		Migrations: os.DirFS("migrations"),
		Build:      buildDB,
		Open: func(ctx context.Context, u string) (io.Closer, error) {
			db, err := postgres.Open(ctx, u, postgres.Options{})
			if err != nil && strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q shows the password", err)
			}
			return db, err
		},
		Name: postgres.Redact,
		Raw:  func(t *testing.T, u string) sqlstore.RowsQuerier { return rawDB(t, u) },
		Snapshot: func(t *testing.T, u string) any {
			rows, err := rawDB(t, u).QueryContext(context.Background(), `SELECT format('%s %s %s', version, name, applied_at) FROM schema_migrations
				UNION ALL SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
	}
	dev := store.SchemaMigration{Version: 1000, Name: "dev_experiment"}
	var missing []store.SchemaMigration
	for _, m := range ms[6:] {
		missing = append(missing, m.Schema())
	}
	storetest.RunSchema(t, b, map[string]storetest.SchemaCase{
		"unknown version far ahead": {
			Reason:  "a development build numbered its migration 1000 on a database at 6: this binary must not fill in 7 and on below it",
			Apply:   func(v int) bool { return v < 7 },
			Foreign: []store.SchemaMigration{dev},
			Want:    &store.SchemaError{Unknown: []store.SchemaMigration{dev}, Missing: missing},
		},
	})
}

// TestConcurrentUpgrade: replicas of a new release starting at once on a
// database an older release left all succeed, and each migration is
// applied once: the advisory lock queues them on the migration.
func TestConcurrentUpgrade(t *testing.T) {
	ctx := context.Background()
	ms := migrations(t)
	var want []store.SchemaMigration
	for _, m := range ms {
		want = append(want, m.Schema())
	}
	for round := range 3 {
		u := buildDB(t, ms[:6], nil)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		dbs := make([]*postgres.DB, 6)
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = postgres.Open(ctx, u, postgres.Options{}) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: open %d: %v", round, i, err)
			}
			defer dbs[i].Close()
		}
		got, err := sqlstore.RecordedMigrations(ctx, rawDB(t, u))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round %d: recorded migrations (-want +got):\n%s", round, diff)
		}
	}
}
