package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/meridianhq/meridian/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Now is the clock for leases and timestamps (default time.Now).
	Now func() time.Time
	// BusyTimeout is how long a write waits for another process's write
	// transaction (default 10s).
	BusyTimeout time.Duration
	// MaxPageCount caps the database's size in pages (SQLite's
	// max_page_count; 0 keeps SQLite's default). A store at its cap fails
	// writes with SQLITE_FULL, as on a full disk: they are EUNAVAILABLE
	// errors, and Ping fails.
	MaxPageCount int64
}

// DB is a store.Store on SQLite.
type DB struct {
	db   conn
	now  func() time.Time
	path string
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and migrates its
// schema to the newest version. The folder is created with mode 0700 and a
// new database file (and its -wal and -shm files) with mode 0600: the store
// holds plans that name infrastructure and the hashes of API tokens.
// Several processes (or goroutines) may open a new database at once: each
// waits for the others' migrations instead of failing with "database is
// locked".
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// SQLite would create the file with the umask's mode (usually 0644),
	// and gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	q := url.Values{}
	// The pragmas run in this order on every new connection, the busy
	// timeout first so that every later statement waits for concurrent
	// writers. WAL is switched on once, by setUp: the mode is stored in the
	// file, and switching takes an exclusive lock that concurrent openers
	// of a new database would fight over.
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	if opts.MaxPageCount > 0 {
		q.Add("_pragma", "max_page_count("+strconv.FormatInt(opts.MaxPageCount, 10)+")")
	}
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &DB{db: conn{db}, now: opts.Now, path: path}
	if err := s.setUp(ctx, opts.BusyTimeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		// Files left by an older meridian, or another tool, may be wider.
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Path is the database file.
func (s *DB) Path() string { return s.path }

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// setUp switches the database to WAL and migrates it. Opening a new
// database takes locks that SQLite does not always wait for (promoting a
// read to a write on a schema another connection just changed fails at
// once with SQLITE_BUSY), so setUp retries a busy database until the busy
// timeout has passed.
func (s *DB) setUp(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	backoff := time.Millisecond
	for {
		err := s.walAndMigrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(backoff + time.Duration(rand.Int64N(int64(backoff))))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

func (s *DB) walAndMigrate(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return fmt.Errorf("journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q: cannot switch to WAL", mode)
	}
	return s.migrate(ctx)
}

// migrate applies the missing migrations, each in its own immediate
// transaction, so that two processes opening a new database at once apply
// each migration exactly once.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	// In an immediate transaction like the migrations, so that concurrent
	// openers of a new database queue on the write lock (busy_timeout).
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, ms2(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	var newest int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return err
	}
	if known := ms[len(ms)-1].version; newest > known {
		return fmt.Errorf("database schema version %d is newer than this meridian knows (%d): upgrade meridian", newest, known)
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE, from the DSN). Its
// errors are classified (see classify).
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", classify(err))
	}
	if err := fn(tx); err != nil {
		return errors.Join(classify(err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	return nil
}

func ms2(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// where builds an AND of the non-empty conditions.
type where struct {
	clauses []string
	args    []any
}

func (w *where) eq(col string, v string) {
	if v != "" {
		w.clauses = append(w.clauses, col+" = ?")
		w.args = append(w.args, v)
	}
}

func (w *where) String() string {
	if len(w.clauses) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.clauses, " AND ")
}

// limit is the LIMIT clause for a filter's Limit: zero means no limit. A
// negative limit can only come from an overflowed computation (offset +
// page size): it reads nothing rather than everything.
func limit(n int) string {
	switch {
	case n == 0:
		return ""
	case n < 0:
		return " LIMIT 0"
	}
	return " LIMIT " + strconv.Itoa(n)
}
