package leader

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Open connects to the store's PostgreSQL database at connURL with a small
// pool of its own, so that lease renewals never wait behind the store's
// connections (busy with API requests under load). Errors hold no
// password: pgx redacts it.
func Open(ctx context.Context, connURL string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("leader election: invalid connection URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	// The elector needs one connection and the delivery queue a few; an
	// idle one is dropped soon, so that a restarted database's first
	// failure is a fresh dial, not a dead socket.
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(30 * time.Second)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("leader election: connect: %w", err)
	}
	return db, nil
}
