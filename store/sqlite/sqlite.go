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
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlstore"
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

// DB is a store.Store on SQLite: the shared SQL implementation
// (store/sqlstore) on a SQLite handle.
type DB struct {
	*sqlstore.DB
	raw  *sql.DB
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
// locked". A database whose recorded migrations this binary does not know
// (a newer meridian wrote it) is refused with a *store.SchemaError and
// left byte for byte as it was.
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
	// A checkpoint truncates the WAL back to this size: without a limit it
	// keeps the size of the largest write transaction ever (a plan and
	// its targets, several megabytes) for good.
	q.Add("_pragma", "journal_size_limit(8388608)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	// SQLite's dialect is ? placeholders and no row or scope locks: every
	// write transaction starts with BEGIN IMMEDIATE, and so excludes the
	// others.
	s := &DB{DB: sqlstore.New(db, sqlstore.Dialect{Classify: classify}, opts.Now), raw: db, now: opts.Now, path: path}
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

// Path is the database file.
func (s *DB) Path() string { return s.path }

func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations(migrations, "migrations")
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	return sqlstore.Newest(ms)
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
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	// A database this binary does not understand is refused before
	// anything writes to it, the switch to WAL included: it stays as the
	// Meridian that wrote it left it.
	current, err := checkMigrations(ctx, s.raw, ms)
	if err != nil {
		return err
	}
	var mode string
	if err := s.raw.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return fmt.Errorf("journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q: cannot switch to WAL", mode)
	}
	if current {
		// Every open of an up-to-date database (each CLI command) would
		// otherwise take the write lock once per migration to learn that.
		return nil
	}
	return s.migrate(ctx, ms)
}

// checkMigrations fails with a *store.SchemaError when the database
// records migrations other than a prefix of ms (sqlstore.CheckMigrations),
// and says whether it records all of them. A database without
// schema_migrations is new.
func checkMigrations(ctx context.Context, db *sql.DB, ms []sqlstore.Migration) (current bool, err error) {
	rows, err := db.QueryContext(ctx, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`)
	if err != nil {
		return false, fmt.Errorf("read schema: %w", err)
	}
	exists := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, fmt.Errorf("read schema: %w", err)
	}
	if !exists {
		return false, nil
	}
	recorded, err := sqlstore.RecordedMigrations(ctx, db)
	if err != nil {
		return false, err
	}
	if err := sqlstore.CheckRecorded(recorded, ms); err != nil {
		return false, err
	}
	// A prefix of ms as long as ms is all of it.
	return len(recorded) == len(ms), nil
}

// migrate applies the missing migrations of ms, each in its own immediate
// transaction, so that two processes opening a new database at once apply
// each migration exactly once, and a crash leaves the database at the
// last migration that committed. Each transaction checks the recorded
// migrations again: another process may have migrated the database since
// walAndMigrate looked.
func (s *DB) migrate(ctx context.Context, ms []sqlstore.Migration) error {
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
			if err := sqlstore.CheckMigrations(ctx, tx, ms); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, sqlstore.MS(s.now()))
			return err
		})
		if store.IsSchemaError(err) {
			return err
		}
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE, from the DSN). Its
// errors are classified (see classify).
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.RunTx(ctx, s.raw, classify, fn)
}

// Ping checks that the database takes writes, not only reads: in an
// immediate transaction (the write lock, so a read-only file or a writer
// stuck past the busy timeout fails) it creates a table and writes 64 KiB
// into it, which allocates more pages than the few a migration's dropped
// table leaves free (so a database at its max_page_count fails with
// SQLITE_FULL), and rolls back. Nothing is committed, so a probe every few
// seconds costs no disk space. A full filesystem under a database that
// still has free pages is not seen here: its writes fail at commit, and
// are EUNAVAILABLE errors like these.
func (s *DB) Ping(ctx context.Context) error {
	err := sqlstore.WriteProbe(ctx, s.raw, classify, `CREATE TABLE meridian_write_probe (b BLOB)`,
		`INSERT INTO meridian_write_probe VALUES (zeroblob(65536))`)
	if err != nil {
		return fmt.Errorf("store %s: write probe: %w", s.path, err)
	}
	return nil
}
