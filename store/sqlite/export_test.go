package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// ExecForTest runs raw SQL, for tests that prove constraints hold.
func ExecForTest(ctx context.Context, db *DB, q string) error {
	_, err := db.raw.ExecContext(ctx, q)
	return classify(err)
}

// JournalMode reports the journal mode of the database at path.
func JournalMode(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return "", fmt.Errorf("journal mode: %w", err)
	}
	return mode, nil
}

// CheckpointForTest copies the WAL into the database file and truncates
// it, so that the file sizes say what the database holds.
func CheckpointForTest(ctx context.Context, db *DB) error {
	_, err := db.raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return classify(err)
}
