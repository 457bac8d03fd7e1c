package leader

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/meridianhq/meridian/store"
)

// Queue keeps verified webhook deliveries until the leader has processed
// them (table webhook_queue): any replica enqueues what it receives, the
// leader works the queue through and removes what it finished. A row
// outlives the replica that received it and the leader that was
// processing it, so that a delivery is never lost to a crash.
type Queue struct {
	db *sql.DB
}

// NewQueue returns the queue on db, a database that store/postgres has
// migrated.
func NewQueue(db *sql.DB) *Queue { return &Queue{db: db} }

// Enqueue adds d unless a delivery with its ID is queued already (a
// redelivery while the first is waiting). A zero QueuedAt is now.
func (q *Queue) Enqueue(ctx context.Context, d store.QueuedDelivery) error {
	if d.QueuedAt.IsZero() {
		d.QueuedAt = time.Now()
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO webhook_queue (delivery_id, repo_id, event, payload, queued_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING`,
		d.ID, d.RepoID, d.Event, d.Payload, d.QueuedAt.UnixMilli()); err != nil {
		return fmt.Errorf("queue delivery %s: %w", d.ID, err)
	}
	return nil
}

// Queued returns up to limit queued deliveries of repoID, oldest first.
func (q *Queue) Queued(ctx context.Context, repoID string, limit int) ([]store.QueuedDelivery, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT delivery_id, repo_id, event, payload, queued_at, attempts
		FROM webhook_queue WHERE repo_id = $1 ORDER BY queued_at, delivery_id LIMIT $2`, repoID, limit)
	if err != nil {
		return nil, fmt.Errorf("read the delivery queue: %w", err)
	}
	defer rows.Close()
	var out []store.QueuedDelivery
	for rows.Next() {
		var d store.QueuedDelivery
		var at int64
		if err := rows.Scan(&d.ID, &d.RepoID, &d.Event, &d.Payload, &at, &d.Attempts); err != nil {
			return nil, fmt.Errorf("read the delivery queue: %w", err)
		}
		d.QueuedAt = time.UnixMilli(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the delivery queue: %w", err)
	}
	return out, nil
}

// Attempt counts one more attempt at processing delivery id and returns
// the count: a delivery whose processing kills every leader that tries
// it can be given up.
func (q *Queue) Attempt(ctx context.Context, id string) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `UPDATE webhook_queue SET attempts = attempts + 1 WHERE delivery_id = $1 RETURNING attempts`,
		id).Scan(&n); err != nil {
		return 0, fmt.Errorf("count an attempt at delivery %s: %w", id, err)
	}
	return n, nil
}

// Remove takes delivery id off the queue, once its outcome is recorded.
func (q *Queue) Remove(ctx context.Context, id string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM webhook_queue WHERE delivery_id = $1`, id); err != nil {
		return fmt.Errorf("remove delivery %s from the queue: %w", id, err)
	}
	return nil
}
