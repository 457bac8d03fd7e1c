package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// AppendEvents implements store.Events.
func (s *DB) AppendEvents(ctx context.Context, evs []meridian.Event) ([]meridian.Event, error) {
	if err := store.CheckEvents(evs); err != nil {
		return nil, err
	}
	var out []meridian.Event
	err := s.tx(ctx, func(tx *Tx) error {
		var err error
		out, err = appendEvents(ctx, tx, s.now(), evs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	return out, nil
}

// appendEvents inserts evs in tx, which every writer of events (findings,
// drift, conditions) shares with its other rows, and the alert outbox row
// of each event that can start, change or end an alert
// (store.AlertRelevant).
//
// IDs must grow in commit order (store.Events), and an autoincrement or a
// sequence alone does not give that where transactions run concurrently
// (PostgreSQL): nextval hands out numbers as transactions ask, not as they
// commit, so a transaction that drew ID 7 may commit after one that drew
// 8, and a subscriber that read 8 and then asks for the events after 8
// would never see 7. So appendEvents first locks ScopeEvents until commit
// or rollback: appenders queue on it, each draws its IDs only after the
// previous one has committed, and the committed IDs are increasing in
// commit order. (SQLite's write transactions exclude each other anyway.) A
// rollback leaves a gap, which subscribers do not mind. The lock is taken
// last in each writer's transaction (events are its last rows), so holders
// wait on nothing else.
func appendEvents(ctx context.Context, tx *Tx, now time.Time, evs []meridian.Event) ([]meridian.Event, error) {
	out := make([]meridian.Event, 0, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	if err := tx.d.lockScope(ctx, tx, ScopeEvents); err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.Time.IsZero() {
			e.Time = now
		}
		e.Time = fromMS(MS(e.Time)) // what a later read returns
		if err := tx.QueryRowContext(ctx, `INSERT INTO events (type, at, repo_id, branch, commit_sha, plan_id, run_id, target, workload, fingerprint, payload)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			string(e.Type), MS(e.Time), e.RepoID, e.Branch, e.Commit, e.PlanID, e.RunID, e.Target, e.Workload, e.Fingerprint, string(e.Payload)).Scan(&e.ID); err != nil {
			return nil, err
		}
		if store.AlertRelevant(e) {
			if err := addOutbox(ctx, tx, e); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// EventsAfter implements store.Events.
func (s *DB) EventsAfter(ctx context.Context, afterID int64, n int) ([]meridian.Event, error) {
	rows, err := s.query(ctx, `SELECT id, type, at, repo_id, branch, commit_sha, plan_id, run_id, target, workload, fingerprint, payload
		FROM events WHERE id > ? ORDER BY id`+limit(n), afterID)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	defer rows.Close()
	var out []meridian.Event
	for rows.Next() {
		var e meridian.Event
		var at int64
		var typ, payload string
		if err := rows.Scan(&e.ID, &typ, &at, &e.RepoID, &e.Branch, &e.Commit, &e.PlanID, &e.RunID, &e.Target, &e.Workload, &e.Fingerprint, &payload); err != nil {
			return nil, fmt.Errorf("events after %d: %w", afterID, err)
		}
		e.Type, e.Time = meridian.EventType(typ), fromMS(at)
		if payload != "" {
			e.Payload = json.RawMessage(payload)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	return out, nil
}

// PruneEvents implements store.Events.
func (s *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE at < ?`, MS(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return n, nil
}
