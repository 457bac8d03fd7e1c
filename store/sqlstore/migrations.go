package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/meridianhq/meridian/store"
)

// Migration is one schema change of a backend, from a file
// NNNN_name.sql. Each backend keeps its own files, in its own SQL.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Schema is m as a store.SchemaMigration: its version and name.
func (m Migration) Schema() store.SchemaMigration {
	return store.SchemaMigration{Version: m.Version, Name: m.Name}
}

// LoadMigrations reads the migrations in dir of fsys, oldest first.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Newest is the version of the newest of ms (0 when there is none).
func Newest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// RowsQuerier runs a query: a *sql.DB or a *sql.Tx.
type RowsQuerier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// CheckMigrations reads the migrations the database records in its
// schema_migrations table (which must exist) and fails with a
// *store.SchemaError when they are not a prefix of known by version and
// name: a version this binary does not have (newer, or from a build with
// other numbering), a known version recorded under another name, or a
// known version missing below a recorded one. A backend calls it before it
// applies anything, in the transaction that applies its migrations, so
// that it never migrates, or runs on, a schema it does not understand.
func CheckMigrations(ctx context.Context, q RowsQuerier, known []Migration) error {
	recorded, err := RecordedMigrations(ctx, q)
	if err != nil {
		return err
	}
	return CheckRecorded(recorded, known)
}

// RecordedMigrations lists the migrations the database records in its
// schema_migrations table (which must exist), oldest first.
func RecordedMigrations(ctx context.Context, q RowsQuerier) ([]store.SchemaMigration, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	var recorded []store.SchemaMigration
	for rows.Next() {
		var m store.SchemaMigration
		if err := rows.Scan(&m.Version, &m.Name); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		recorded = append(recorded, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return recorded, nil
}

// CheckRecorded fails with a *store.SchemaError when recorded (oldest
// first, as RecordedMigrations lists them) is not a prefix of known by
// version and name.
func CheckRecorded(recorded []store.SchemaMigration, known []Migration) error {
	if len(recorded) == 0 {
		return nil
	}
	names := make(map[int]string, len(known))
	for _, m := range known {
		names[m.Version] = m.Name
	}
	e := &store.SchemaError{Recorded: recorded}
	if len(known) > 0 {
		e.Newest = known[len(known)-1].Schema()
	}
	done := make(map[int]bool, len(recorded))
	for _, r := range recorded {
		done[r.Version] = true
		name, ok := names[r.Version]
		switch {
		case !ok:
			e.Unknown = append(e.Unknown, r)
		case name != r.Name:
			e.Renamed = append(e.Renamed, r)
		}
	}
	newest := recorded[len(recorded)-1].Version
	for _, m := range known {
		if m.Version < newest && !done[m.Version] {
			e.Missing = append(e.Missing, m.Schema())
		}
	}
	if len(e.Unknown)+len(e.Renamed)+len(e.Missing) > 0 {
		return e
	}
	return nil
}
