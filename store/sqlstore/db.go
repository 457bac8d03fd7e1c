package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian/store"
)

// Dialect is what differs between the SQL databases behind DB. The zero
// value is SQLite's behaviour, except for Classify.
type Dialect struct {
	// Numbered says placeholders are $1, $2, ... (PostgreSQL) instead of ?.
	// Queries are written with ?; DB rewrites them (see Rebind).
	Numbered bool
	// ForUpdate is appended to a SELECT whose rows the transaction then
	// writes, so that no other transaction changes them in between
	// (" FOR UPDATE" on PostgreSQL; empty on SQLite, whose write
	// transactions start with BEGIN IMMEDIATE and exclude each other).
	ForUpdate string
	// LockScope takes a lock on a named scope (a repo's drift records, a
	// moves scope, the event log) held until tx ends, for writers whose
	// read-then-write touches rows that may not exist yet, which
	// ForUpdate cannot lock. Nil when every write transaction already
	// excludes the others (SQLite).
	LockScope func(ctx context.Context, tx *sql.Tx, scope string) error
	// Classify turns a driver error into a store error: what means "cannot
	// serve this now" becomes a store.UnavailableError; everything else is
	// returned as it is. Nil returns every error as it is.
	Classify func(error) error
}

// Scopes the backends lock with Dialect.LockScope. ScopeEvents is the
// event log (see appendEvents); the others are prefixes of a scope's name.
const (
	ScopeEvents     = "events"
	scopeDrift      = "drift:"
	scopeConditions = "conditions:"
	scopeMoves      = "moves:"
)

func (d *Dialect) classify(err error) error {
	if err == nil || d.Classify == nil {
		return err
	}
	return d.Classify(err)
}

// Rebind rewrites the ? placeholders of q for the dialect: $1, $2, ... in
// order when Numbered. A ? inside a quoted string, a quoted identifier or
// a -- comment is left alone.
func (d *Dialect) Rebind(q string) string {
	if !d.Numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'', '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
			continue
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				end := strings.IndexByte(q[i:], '\n')
				if end < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+end])
				i += end - 1
				continue
			}
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (d *Dialect) lockScope(ctx context.Context, tx *Tx, scope string) error {
	if d.LockScope == nil {
		return nil
	}
	if err := d.LockScope(ctx, tx.tx, scope); err != nil {
		return fmt.Errorf("lock %s: %w", scope, err)
	}
	return nil
}

// DB is a store.Store on a database/sql handle. Its exported methods are
// the store's; the backends embed it.
type DB struct {
	db  *sql.DB
	h   handle
	d   *Dialect
	now func() time.Time
}

var _ store.Store = (*DB)(nil)

// New returns a store on db, which must already hold the schema. now is
// the clock for leases and timestamps (nil: time.Now). The caller closes
// db, through the DB's Close or its own.
func New(db *sql.DB, d Dialect, now func() time.Time) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{db: db, h: handle{q: db, d: &d}, d: &d, now: now}
}

// Close closes the database handle.
func (s *DB) Close() error { return s.db.Close() }

// RunTx runs fn in a transaction on db and commits it, or rolls it back
// when fn fails. Every error is passed through classify (nil: none). The
// backends use it for their migrations and write probes; DB uses it for
// every write.
func RunTx(ctx context.Context, db *sql.DB, classify func(error) error, fn func(*sql.Tx) error) error {
	if classify == nil {
		classify = func(err error) error { return err }
	}
	tx, err := db.BeginTx(ctx, nil)
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

// tx runs fn in a write transaction: BEGIN IMMEDIATE on SQLite (from the
// DSN), so writers exclude each other; READ COMMITTED on PostgreSQL, where
// writers that read before they write lock what they read
// (Dialect.ForUpdate, Dialect.LockScope or one atomic INSERT ... ON
// CONFLICT).
func (s *DB) tx(ctx context.Context, fn func(*Tx) error) error {
	return RunTx(ctx, s.db, s.d.Classify, func(tx *sql.Tx) error { return fn(&Tx{handle: handle{q: tx, d: s.d}, tx: tx}) })
}

// Tx is a transaction whose statements are rebound for the dialect and
// whose errors are classified.
type Tx struct {
	handle
	tx *sql.Tx
}

// querier is what a database handle and a transaction both run.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// handle runs statements on a querier, rebound for the dialect, with
// their errors classified.
type handle struct {
	q querier
	d *Dialect
}

// ExecContext runs a statement.
func (h handle) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := h.q.ExecContext(ctx, h.d.Rebind(q), args...)
	return res, h.d.classify(err)
}

// QueryContext runs a query.
func (h handle) QueryContext(ctx context.Context, q string, args ...any) (*Rows, error) {
	rs, err := h.q.QueryContext(ctx, h.d.Rebind(q), args...)
	if err != nil {
		return nil, h.d.classify(err)
	}
	return &Rows{Rows: rs, d: h.d}, nil
}

// QueryRowContext runs a query for one row.
func (h handle) QueryRowContext(ctx context.Context, q string, args ...any) Row {
	return Row{r: h.q.QueryRowContext(ctx, h.d.Rebind(q), args...), d: h.d}
}

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.h.ExecContext(ctx, q, args...)
}

func (s *DB) query(ctx context.Context, q string, args ...any) (*Rows, error) {
	return s.h.QueryContext(ctx, q, args...)
}

func (s *DB) queryRow(ctx context.Context, q string, args ...any) Row {
	return s.h.QueryRowContext(ctx, q, args...)
}

// Row is a *sql.Row whose Scan classifies errors (sql.ErrNoRows passes
// through unchanged for errors.Is).
type Row struct {
	r *sql.Row
	d *Dialect
}

// Scan copies the row's columns into dest.
func (r Row) Scan(dest ...any) error { return r.d.classify(r.r.Scan(dest...)) }

// Rows is a *sql.Rows whose Scan and Err classify errors.
type Rows struct {
	*sql.Rows
	d *Dialect
}

// Scan copies the current row's columns into dest.
func (r *Rows) Scan(dest ...any) error { return r.d.classify(r.Rows.Scan(dest...)) }

// Err is the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.d.classify(r.Rows.Err()) }

type scanner interface{ Scan(...any) error }

// MS is t in Unix milliseconds, the schema's time (0 for the zero time).
func MS(t time.Time) int64 {
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

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: MS(t), Valid: true}
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
		w.add(col+" = ?", v)
	}
}

// add adds a clause with its arguments, one per ? in order.
func (w *where) add(clause string, args ...any) {
	w.clauses = append(w.clauses, clause)
	w.args = append(w.args, args...)
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

// WriteProbe runs stmts in a transaction on db and rolls it back, so that
// nothing is committed: a backend's Ping, which must see a database that
// answers reads but refuses writes. Its error is passed through classify.
func WriteProbe(ctx context.Context, db *sql.DB, classify func(error) error, stmts ...string) error {
	errRollback := errors.New("probe done")
	err := RunTx(ctx, db, classify, func(tx *sql.Tx) error {
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return errRollback
	})
	if errors.Is(err, errRollback) {
		return nil
	}
	return err
}
