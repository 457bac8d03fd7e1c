package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

const driftColumns = `id, repo_id, engine, target, workload, resource, action, expected, actual, first_seen, last_seen, cleared_at`

// openDriftQuery selects a repo's open records, by engine, target,
// workload and resource.
const openDriftQuery = `SELECT ` + driftColumns + ` FROM drift_records
	WHERE repo_id = ? AND cleared_at IS NULL ORDER BY engine, target, workload, resource`

// SyncDrift implements store.DriftRecords.
func (s *DB) SyncDrift(ctx context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error) {
	if repoID == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "sync drift: no repo")
	}
	for _, e := range engines {
		if !e.Valid() {
			return nil, meridian.Errorf(meridian.EINVALID, "sync drift: unknown engine %q", e)
		}
	}
	// Several observations of one resource in one check are one record:
	// the last one wins.
	byKey := map[string]meridian.DriftRecord{}
	var keys []string
	for _, d := range current {
		if !slices.Contains(engines, d.Engine) {
			return nil, meridian.Errorf(meridian.EINVALID, "sync drift: %s drift on %s outside the engines checked (%v)", d.Engine, d.Resource, engines)
		}
		if _, ok := byKey[d.Key()]; !ok {
			keys = append(keys, d.Key())
		}
		byKey[d.Key()] = d
	}
	return s.driftTx(ctx, repoID, "sync drift", func(tx *Tx, now time.Time, open []meridian.DriftRecord) ([]meridian.Event, error) {
		openByKey := map[string]meridian.DriftRecord{}
		for _, d := range open {
			openByKey[d.Key()] = d
		}
		var evs []meridian.Event
		for _, k := range keys {
			d := byKey[k]
			d.RepoID, d.LastSeen, d.ClearedAt = repoID, now, time.Time{}
			if prev, ok := openByKey[k]; ok {
				if d.ID == prev.ID {
					continue // carried over: not seen, so left as it was
				}
				d.ID, d.FirstSeen = prev.ID, prev.FirstSeen
				if _, err := tx.ExecContext(ctx, `UPDATE drift_records SET action = ?, expected = ?, actual = ?, last_seen = ? WHERE id = ?`,
					d.Action, d.Expected, d.Actual, MS(now), d.ID); err != nil {
					return nil, err
				}
				continue
			}
			d.FirstSeen = now
			if err := tx.QueryRowContext(ctx, `INSERT INTO drift_records (repo_id, engine, target, workload, resource, action, expected, actual, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				repoID, string(d.Engine), d.Target, d.Workload, d.Resource, d.Action, d.Expected, d.Actual, MS(now), MS(now)).Scan(&d.ID); err != nil {
				return nil, err
			}
			evs = append(evs, store.DriftEvent(meridian.EventDriftOpened, d))
		}
		cleared, err := clearDrift(ctx, tx, open, now, func(d meridian.DriftRecord) bool {
			_, seen := byKey[d.Key()]
			return !seen && slices.Contains(engines, d.Engine)
		})
		return append(evs, cleared...), err
	})
}

// OpenDrift implements store.DriftRecords.
func (s *DB) OpenDrift(ctx context.Context, repoID string) ([]meridian.DriftRecord, error) {
	rows, err := s.query(ctx, openDriftQuery, repoID)
	if err != nil {
		return nil, fmt.Errorf("open drift of %s: %w", repoID, err)
	}
	defer rows.Close()
	out, err := scanDrift(rows)
	if err != nil {
		return nil, fmt.Errorf("open drift of %s: %w", repoID, err)
	}
	return out, nil
}

// ListDrift implements store.DriftRecords.
func (s *DB) ListDrift(ctx context.Context, f store.DriftFilter) ([]meridian.DriftRecord, error) {
	if !f.State.Valid() {
		return nil, meridian.Errorf(meridian.EINVALID, "list drift: unknown state %q", f.State)
	}
	var w where
	w.eq("repo_id", f.RepoID)
	w.eq("engine", string(f.Engine))
	w.eq("target", f.Target)
	w.eq("workload", f.Workload)
	switch f.State {
	case "", store.DriftOpen:
		w.clauses = append(w.clauses, "cleared_at IS NULL")
	case store.DriftCleared:
		w.clauses = append(w.clauses, "cleared_at IS NOT NULL")
	}
	// Open records first (cleared_at IS NOT NULL sorts 0 before 1), in the
	// order OpenDrift uses; then the cleared ones, newest first.
	rs, err := s.query(ctx, `SELECT `+driftColumns+` FROM drift_records`+w.String()+`
		ORDER BY cleared_at IS NOT NULL, cleared_at DESC, engine, target, workload, resource, id DESC`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list drift: %w", err)
	}
	defer rs.Close()
	out, err := scanDrift(rs)
	if err != nil {
		return nil, fmt.Errorf("list drift: %w", err)
	}
	return out, nil
}

// ClearDrift implements store.DriftRecords.
func (s *DB) ClearDrift(ctx context.Context, repoID string, ids []int64) ([]meridian.Event, error) {
	return s.driftTx(ctx, repoID, "clear drift", func(tx *Tx, now time.Time, open []meridian.DriftRecord) ([]meridian.Event, error) {
		return clearDrift(ctx, tx, open, now, func(d meridian.DriftRecord) bool { return slices.Contains(ids, d.ID) })
	})
}

// driftTx runs fn in a transaction with the time and repoID's open
// records, appends the events fn returns to the log, and returns them as
// appended. Its errors name what (e.g. "clear drift") and repoID.
func (s *DB) driftTx(ctx context.Context, repoID, what string, fn func(tx *Tx, now time.Time, open []meridian.DriftRecord) ([]meridian.Event, error)) ([]meridian.Event, error) {
	var events []meridian.Event
	err := s.tx(ctx, func(tx *Tx) error {
		// Checks of one repo queue here: each reads the open records and
		// writes from them, and the partial unique index would fail the
		// second of two that both open the same record.
		if err := s.d.lockScope(ctx, tx, scopeDrift+repoID); err != nil {
			return err
		}
		now := fromMS(MS(s.now()))
		open, err := openDrift(ctx, tx, repoID)
		if err != nil {
			return err
		}
		evs, err := fn(tx, now, open)
		if err != nil {
			return err
		}
		events, err = appendEvents(ctx, tx, now, evs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", what, repoID, err)
	}
	return events, nil
}

// clearDrift clears the records of open that pick selects, in order, and
// returns their events.
func clearDrift(ctx context.Context, tx *Tx, open []meridian.DriftRecord, now time.Time, pick func(meridian.DriftRecord) bool) ([]meridian.Event, error) {
	var evs []meridian.Event
	for _, d := range open {
		if !pick(d) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE drift_records SET cleared_at = ? WHERE id = ?`, MS(now), d.ID); err != nil {
			return nil, err
		}
		d.ClearedAt = now
		evs = append(evs, store.DriftEvent(meridian.EventDriftCleared, d))
	}
	return evs, nil
}

func openDrift(ctx context.Context, tx *Tx, repoID string) ([]meridian.DriftRecord, error) {
	rs, err := tx.QueryContext(ctx, openDriftQuery, repoID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return scanDrift(rs)
}

func scanDrift(rs *Rows) ([]meridian.DriftRecord, error) {
	var out []meridian.DriftRecord
	for rs.Next() {
		var d meridian.DriftRecord
		var engine string
		var first, last int64
		var cleared sql.NullInt64
		if err := rs.Scan(&d.ID, &d.RepoID, &engine, &d.Target, &d.Workload, &d.Resource, &d.Action, &d.Expected, &d.Actual, &first, &last, &cleared); err != nil {
			return nil, err
		}
		d.Engine, d.FirstSeen, d.LastSeen, d.ClearedAt = meridian.DriftEngine(engine), fromMS(first), fromMS(last), fromNullMS(cleared)
		out = append(out, d)
	}
	return out, rs.Err()
}
