package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func addOutbox(ctx context.Context, tx *Tx, e meridian.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_outbox (event_id, created_at) VALUES (?, ?)`, e.ID, MS(e.Time))
	if err != nil {
		return fmt.Errorf("alert outbox of event %d: %w", e.ID, err)
	}
	return nil
}

// SyncConditions implements store.Conditions.
func (s *DB) SyncConditions(ctx context.Context, repoID string, sources []meridian.AlertSource, current []meridian.ConditionRecord) ([]meridian.Event, error) {
	if repoID == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "sync conditions: no repo")
	}
	for _, src := range sources {
		if !src.Valid() {
			return nil, meridian.Errorf(meridian.EINVALID, "sync conditions: unknown source %q", src)
		}
	}
	// Several sightings of one condition in one check are one record: the
	// last one wins.
	byKey := map[string]meridian.ConditionRecord{}
	var keys []string
	for _, c := range current {
		if !slices.Contains(sources, c.Source) {
			return nil, meridian.Errorf(meridian.EINVALID, "sync conditions: %s condition %q outside the sources checked (%v)", c.Source, c.Name, sources)
		}
		if c.Fingerprint == "" {
			return nil, meridian.Errorf(meridian.EINVALID, "sync conditions: %s condition %q has no fingerprint", c.Source, c.Name)
		}
		k := conditionKey(c)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = c
	}
	var events []meridian.Event
	err := s.tx(ctx, func(tx *Tx) error {
		// Checks of one repo queue here, as drift checks do (driftTx).
		if err := s.d.lockScope(ctx, tx, scopeConditions+repoID); err != nil {
			return err
		}
		now := fromMS(MS(s.now()))
		open, ids, err := openConditions(ctx, tx, repoID)
		if err != nil {
			return err
		}
		openByKey := map[string]int{}
		for i, c := range open {
			openByKey[conditionKey(c)] = i
		}
		var evs []meridian.Event
		for _, k := range keys {
			c := byKey[k]
			c.RepoID, c.LastSeen, c.ClearedAt = repoID, now, time.Time{}
			if i, ok := openByKey[k]; ok {
				c.FirstSeen = open[i].FirstSeen
				if err := updateCondition(ctx, tx, ids[i], c); err != nil {
					return err
				}
				continue
			}
			c.FirstSeen = now
			doc, err := json.Marshal(c)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_conditions (repo_id, source, fingerprint, record, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?)`, repoID, string(c.Source), c.Fingerprint, string(doc), MS(now), MS(now)); err != nil {
				return err
			}
			evs = append(evs, store.ConditionEvent(meridian.EventConditionOpened, c, now))
		}
		for i, c := range open {
			if _, seen := byKey[conditionKey(c)]; seen || !slices.Contains(sources, c.Source) {
				continue
			}
			c.ClearedAt = now
			if err := updateCondition(ctx, tx, ids[i], c); err != nil {
				return err
			}
			evs = append(evs, store.ConditionEvent(meridian.EventConditionCleared, c, now))
		}
		events, err = appendEvents(ctx, tx, now, evs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync conditions of %s: %w", repoID, err)
	}
	return events, nil
}

// OpenConditions implements store.Conditions.
func (s *DB) OpenConditions(ctx context.Context, repoID string) ([]meridian.ConditionRecord, error) {
	rs, err := s.query(ctx, openConditionsQuery, repoID)
	if err != nil {
		return nil, fmt.Errorf("open conditions of %s: %w", repoID, err)
	}
	defer rs.Close()
	out, _, err := scanConditions(rs)
	if err != nil {
		return nil, fmt.Errorf("open conditions of %s: %w", repoID, err)
	}
	return out, nil
}

const openConditionsQuery = `SELECT id, record, first_seen, last_seen FROM alert_conditions
	WHERE repo_id = ? AND cleared_at IS NULL ORDER BY source, fingerprint`

func conditionKey(c meridian.ConditionRecord) string {
	return string(c.Source) + "\x00" + c.Fingerprint
}

func openConditions(ctx context.Context, tx *Tx, repoID string) ([]meridian.ConditionRecord, []int64, error) {
	rs, err := tx.QueryContext(ctx, openConditionsQuery, repoID)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	return scanConditions(rs)
}

func scanConditions(rs *Rows) ([]meridian.ConditionRecord, []int64, error) {
	var out []meridian.ConditionRecord
	var ids []int64
	for rs.Next() {
		var id, first, last int64
		var doc string
		if err := rs.Scan(&id, &doc, &first, &last); err != nil {
			return nil, nil, err
		}
		var c meridian.ConditionRecord
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, nil, fmt.Errorf("condition %d: %w", id, err)
		}
		c.FirstSeen, c.LastSeen = fromMS(first), fromMS(last)
		out = append(out, c)
		ids = append(ids, id)
	}
	return out, ids, rs.Err()
}

func updateCondition(ctx context.Context, tx *Tx, id int64, c meridian.ConditionRecord) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var cleared sql.NullInt64
	if !c.ClearedAt.IsZero() {
		cleared = sql.NullInt64{Int64: MS(c.ClearedAt), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `UPDATE alert_conditions SET record = ?, last_seen = ?, cleared_at = ? WHERE id = ?`,
		string(doc), MS(c.LastSeen), cleared, id)
	return err
}
