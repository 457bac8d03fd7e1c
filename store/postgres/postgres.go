package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys. PostgreSQL advisory locks share one 64-bit key space
// per database with any other application on it, so the fixed keys carry
// "meridian" in their high bytes; scoped locks hash a prefixed text.
const (
	// lockMigrate serializes schema migrations across processes.
	lockMigrate int64 = 0x6d65726964000001
	// lockEvents serializes event appends: see sqlstore's appendEvents.
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

// DB is a store.Store on PostgreSQL: the shared SQL implementation
// (store/sqlstore) on a pgx connection pool.
type DB struct {
	*sqlstore.DB
	raw  *sql.DB
	pool *pgxpool.Pool
	now  func() time.Time
	// where is the connection URL with its password redacted.
	where string
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at connURL (postgres://user:pass@host/db?...)
// through a connection pool and migrates its schema to the newest version.
// Several processes may open a new database at once: an advisory lock makes
// each wait for the others' migrations. A database whose recorded
// migrations this binary does not know (a newer meridian wrote it) is
// refused with a *store.SchemaError and left as it was. Errors never show
// the URL's password.
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
	s := newDB(pool, opts.Now, where)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", where, redactErr(err, connURL))
	}
	return s, nil
}

// newDB is a store on pool, whose schema is migrated or not.
func newDB(pool *pgxpool.Pool, now func() time.Time, where string) *DB {
	raw := stdlib.OpenDBFromPool(pool)
	d := sqlstore.Dialect{Numbered: true, ForUpdate: " FOR UPDATE", LockScope: lockScope, Classify: classify}
	return &DB{DB: sqlstore.New(raw, d, now), raw: raw, pool: pool, now: now, where: where}
}

// Close closes the pool. Closing twice is harmless.
func (s *DB) Close() error {
	err := s.raw.Close()
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

func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations(migrations, "migrations")
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	return sqlstore.Newest(ms)
}

// migrate applies the missing migrations in order, in one transaction that
// first takes an advisory lock: concurrent openers (replicas starting at
// once) queue on the lock, and each migration is applied exactly once.
// PostgreSQL's DDL is transactional, so a failed migration, or a crash,
// leaves the schema as it was. A database that records migrations this
// binary does not know is refused (a *store.SchemaError) and left as it
// was.
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
		// A database written by another meridian is refused before
		// anything is applied; the rollback undoes the CREATE above.
		if err := sqlstore.CheckMigrations(ctx, tx, ms); err != nil {
			return err
		}
		var newest int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return err
		}
		for _, m := range ms {
			if m.Version <= newest {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, sqlstore.MS(s.now())); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		return nil
	})
}

// tx runs fn in a read-committed transaction. Its errors are classified
// (see classify).
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return sqlstore.RunTx(ctx, s.raw, classify, fn)
}

// lockScope takes a transaction-scoped advisory lock on a named scope
// (sqlstore.Dialect.LockScope): a repo's drift records, a moves scope, the
// event log.
func lockScope(ctx context.Context, tx *sql.Tx, scope string) error {
	if scope == sqlstore.ScopeEvents {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockEvents)
		return err
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "meridian:"+scope)
	return err
}

// Ping checks that the database answers and takes writes, committing
// nothing: in a transaction it creates a temporary table, writes a row and
// rolls back. A read-only database (a hot standby, or
// default_transaction_read_only) or an unreachable server fails, with a
// store.UnavailableError.
func (s *DB) Ping(ctx context.Context) error {
	err := sqlstore.WriteProbe(ctx, s.raw, classify, `CREATE TEMPORARY TABLE meridian_write_probe (b INTEGER) ON COMMIT DROP`,
		`INSERT INTO meridian_write_probe VALUES (1)`)
	if err != nil {
		return fmt.Errorf("store %s: write probe: %w", s.where, err)
	}
	return nil
}
