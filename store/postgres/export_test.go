package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/meridianhq/meridian"
)

// ExecForTest runs raw SQL, for tests that prove constraints hold.
func ExecForTest(ctx context.Context, db *DB, q string, args ...any) error {
	_, err := db.db.ExecContext(ctx, q, args...)
	return err
}

// QueryIntForTest returns the one integer q selects.
func QueryIntForTest(ctx context.Context, db *DB, q string, args ...any) (int64, error) {
	var n int64
	err := db.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// AppendEventsOpen appends evs in a transaction it leaves open, as a slow
// writer would, and returns them with that transaction: the caller commits
// it, and rolls it back in any case (Close waits for open transactions).
func AppendEventsOpen(ctx context.Context, db *DB, evs []meridian.Event) ([]meridian.Event, *sql.Tx, error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		return nil, nil, err
	}
	out, err := appendEvents(ctx, tx, db.now(), evs)
	if err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	return out, tx, nil
}

// ReopenForTest opens the already migrated database at connURL without
// migrating it, as a replica that finds it read-only would use it.
func ReopenForTest(ctx context.Context, connURL string) (*DB, error) {
	pool, err := pgxpool.New(ctx, connURL)
	if err != nil {
		return nil, err
	}
	return &DB{db: conn{stdlib.OpenDBFromPool(pool)}, pool: pool, now: time.Now, where: Redact(connURL)}, nil
}
