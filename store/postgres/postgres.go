package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/meridianhq/meridian/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys. PostgreSQL advisory locks share one 64-bit key space
// per database with any other application on it, so the fixed keys carry
// "meridian" in their high bytes; scoped locks hash a prefixed text.
const (
	// lockMigrate serializes schema migrations across processes.
	lockMigrate int64 = 0x6d65726964000001
	// lockEvents serializes event appends: see appendEvents.
	lockEvents int64 = 0x6d65726964000002
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Now is the clock for leases and timestamps (default time.Now).
	Now func() time.Time
	// MaxConns caps the connection pool (default: pgxpool's, the larger
	// of 4 and the number of CPUs; a pool_max_conns URL parameter also
	// sets it).
	MaxConns int32
}

// DB is a store.Store on PostgreSQL.
type DB struct {
	db   conn
	pool *pgxpool.Pool
	now  func() time.Time
	// where is the connection URL with its password redacted.
	where string
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at connURL (postgres://user:pass@host/db?...)
// through a connection pool and migrates its schema to the newest version.
// Several processes may open a new database at once: an advisory lock makes
// each wait for the others' migrations. Errors never show the URL's
// password.
func Open(ctx context.Context, connURL string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	where := Redact(connURL)
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		// pgx redacts the password in its parse errors, but the message may
		// still quote the URL; only the redacted one is shown.
		return nil, fmt.Errorf("open store %s: invalid connection URL: %w", where, redactErr(err, connURL))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, redactErr(err, connURL))
	}
	s := &DB{db: conn{stdlib.OpenDBFromPool(pool)}, pool: pool, now: opts.Now, where: where}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", where, redactErr(err, connURL))
	}
	return s, nil
}

// Close closes the pool. Closing twice is harmless.
func (s *DB) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// Path names the database for logs and messages: its URL with the
// password redacted.
func (s *DB) Path() string { return s.where }

var (
	kvPassword = regexp.MustCompile(`password=('[^']*'|[^ &]*)`)
	// urlPassword finds the password of a URL that net/url cannot parse
	// (a bad port, say), which error messages quote.
	urlPassword = regexp.MustCompile(`(://[^:/@]*):([^@/]*)@`)
)

// Redact returns connURL with its password (in the user info or a
// password parameter) replaced by xxxxx, for logs and error messages.
func Redact(connURL string) string {
	u, err := url.Parse(connURL)
	if err != nil || u.Scheme == "" {
		return kvPassword.ReplaceAllString(urlPassword.ReplaceAllString(connURL, "$1:xxxxx@"), "password=xxxxx")
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr keeps err for errors.Is and errors.As but replaces its message
// when it contains the password of connURL.
func redactErr(err error, connURL string) error {
	pw := password(connURL)
	if err == nil || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

func password(connURL string) string {
	if u, err := url.Parse(connURL); err == nil && u.Scheme != "" {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
		return u.Query().Get("password")
	}
	if m := urlPassword.FindStringSubmatch(connURL); m != nil {
		return m[2]
	}
	if m := kvPassword.FindStringSubmatch(connURL); m != nil {
		return strings.Trim(m[1], "'")
	}
	return ""
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

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

// migrate applies the missing migrations in order, in one transaction that
// first takes an advisory lock: concurrent openers of a new database queue
// on the lock, and each migration is applied exactly once. PostgreSQL's
// DDL is transactional, so a failed migration leaves the schema as it was.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var newest int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return err
		}
		if known := ms[len(ms)-1].version; newest > known {
			return fmt.Errorf("database schema version %d is newer than this meridian knows (%d): upgrade meridian", newest, known)
		}
		for _, m := range ms {
			if m.version <= newest {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, ms2(s.now())); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
		}
		return nil
	})
}

// tx runs fn in a read-committed transaction. Writers that read before
// they write lock what they read (SELECT ... FOR UPDATE, an advisory lock
// or an atomic INSERT ... ON CONFLICT), as SQLite's BEGIN IMMEDIATE does
// for the whole database there. Its errors are classified (see classify).
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

// lockScope takes a transaction-scoped advisory lock on a named scope (a
// repo's drift records, a moves scope), for writers whose read-then-write
// touches rows that may not exist yet, which FOR UPDATE cannot lock.
func lockScope(ctx context.Context, tx *sql.Tx, scope string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "meridian:"+scope)
	return err
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

// where builds an AND of the non-empty conditions, numbering the
// placeholders in the order the arguments are added.
type where struct {
	clauses []string
	args    []any
}

// arg adds v to the arguments and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) eq(col string, v string) {
	if v != "" {
		w.clauses = append(w.clauses, col+" = "+w.arg(v))
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
