package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store/sqlstore"
)

// ExecForTest runs raw SQL, for tests that prove constraints hold.
func ExecForTest(ctx context.Context, db *DB, q string, args ...any) error {
	_, err := db.raw.ExecContext(ctx, q, args...)
	return classify(err)
}

// QueryIntForTest returns the one integer q selects.
func QueryIntForTest(ctx context.Context, db *DB, q string, args ...any) (int64, error) {
	var n int64
	err := db.raw.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, classify(err)
}

// AppendEventsOpen appends evs as a slow writer would: under the event
// log's lock, the one every append takes, in a transaction it leaves open.
// It returns them with their IDs and that transaction: the caller commits
// it, and rolls it back in any case (Close waits for open transactions).
func AppendEventsOpen(ctx context.Context, db *DB, evs []meridian.Event) ([]meridian.Event, *sql.Tx, error) {
	tx, err := db.raw.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		return nil, nil, err
	}
	if err := lockScope(ctx, tx, sqlstore.ScopeEvents); err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	out := append([]meridian.Event(nil), evs...)
	for i, e := range out {
		if err := tx.QueryRowContext(ctx, `INSERT INTO events (type, at, run_id) VALUES ($1, $2, $3) RETURNING id`,
			string(e.Type), time.Now().UnixMilli(), e.RunID).Scan(&out[i].ID); err != nil {
			tx.Rollback()
			return nil, nil, err
		}
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
	return newDB(pool, time.Now, Redact(connURL)), nil
}

// MigrationsForTest is how many migrations this binary embeds.
func MigrationsForTest() int {
	ms, _ := loadMigrations()
	return len(ms)
}
