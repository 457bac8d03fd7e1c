package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// PendingOutbox implements store.AlertOutbox.
func (s *DB) PendingOutbox(ctx context.Context, n int) ([]store.OutboxEntry, error) {
	rs, err := s.query(ctx, `SELECT o.event_id, o.created_at, COALESCE(e.id, 0), COALESCE(e.type, ''), COALESCE(e.at, 0),
		COALESCE(e.repo_id, ''), COALESCE(e.branch, ''), COALESCE(e.commit_sha, ''), COALESCE(e.plan_id, ''), COALESCE(e.run_id, ''),
		COALESCE(e.target, ''), COALESCE(e.workload, ''), COALESCE(e.fingerprint, ''), COALESCE(e.payload, '')
		FROM alert_outbox o LEFT JOIN events e ON e.id = o.event_id
		WHERE o.processed_at IS NULL ORDER BY o.event_id`+limit(n))
	if err != nil {
		return nil, fmt.Errorf("pending outbox: %w", err)
	}
	defer rs.Close()
	var out []store.OutboxEntry
	for rs.Next() {
		var o store.OutboxEntry
		var created, at int64
		var typ, payload string
		e := &o.Event
		if err := rs.Scan(&o.EventID, &created, &e.ID, &typ, &at, &e.RepoID, &e.Branch, &e.Commit, &e.PlanID, &e.RunID,
			&e.Target, &e.Workload, &e.Fingerprint, &payload); err != nil {
			return nil, fmt.Errorf("pending outbox: %w", err)
		}
		o.CreatedAt, e.Type, e.Time = fromMS(created), meridian.EventType(typ), fromMS(at)
		if payload != "" {
			e.Payload = json.RawMessage(payload)
		}
		out = append(out, o)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("pending outbox: %w", err)
	}
	return out, nil
}

const alertColumns = `doc, state, silenced_by, sinks, updated_at`

func scanAlerts(rs *Rows) ([]store.AlertRecord, error) {
	var out []store.AlertRecord
	for rs.Next() {
		var a store.AlertRecord
		var doc, state, sinks string
		var updated int64
		if err := rs.Scan(&doc, &state, &a.SilencedBy, &sinks, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &a.Alert); err != nil {
			return nil, fmt.Errorf("alert: %w", err)
		}
		a.State, a.UpdatedAt = meridian.AlertState(state), fromMS(updated)
		if sinks != "" {
			a.Sinks = strings.Split(sinks, ",")
		}
		out = append(out, a)
	}
	return out, rs.Err()
}

// AlertsByFingerprint implements store.AlertOutbox.
func (s *DB) AlertsByFingerprint(ctx context.Context, repoID, fingerprint string) ([]store.AlertRecord, error) {
	rs, err := s.query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE repo_id = ? AND fingerprint = ? ORDER BY id`, repoID, fingerprint)
	if err != nil {
		return nil, fmt.Errorf("alerts of %s: %w", fingerprint, err)
	}
	defer rs.Close()
	out, err := scanAlerts(rs)
	if err != nil {
		return nil, fmt.Errorf("alerts of %s: %w", fingerprint, err)
	}
	return out, nil
}

// ListAlerts implements store.AlertOutbox.
func (s *DB) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.AlertRecord, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, meridian.Errorf(meridian.EINVALID, "list alerts: unknown state %q", f.State)
	}
	var w where
	w.eq("state", string(f.State))
	w.eq("repo_id", f.RepoID)
	rs, err := s.query(ctx, `SELECT `+alertColumns+` FROM alerts`+w.String()+` ORDER BY updated_at DESC, id`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rs.Close()
	out, err := scanAlerts(rs)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// CommitAlerts implements store.AlertOutbox.
func (s *DB) CommitAlerts(ctx context.Context, c store.AlertCommit) error {
	for _, a := range c.Alerts {
		if a.ID == "" || !a.State.Valid() {
			return meridian.Errorf(meridian.EINVALID, "commit alerts: alert %q: needs an ID and a state (got %q)", a.ID, a.State)
		}
	}
	err := s.tx(ctx, func(tx *Tx) error {
		if c.EventID > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE alert_outbox SET processed_at = ? WHERE event_id = ? AND processed_at IS NULL`,
				MS(c.ProcessedAt), c.EventID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return meridian.Errorf(meridian.ECONFLICT, "outbox row of event %d is processed already", c.EventID)
			}
		}
		for _, a := range c.Alerts {
			doc, err := json.Marshal(a.Alert)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, repo_id, fingerprint, state, silenced_by, sinks, doc, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET repo_id = excluded.repo_id, fingerprint = excluded.fingerprint, state = excluded.state,
				  silenced_by = excluded.silenced_by, sinks = excluded.sinks, doc = excluded.doc, updated_at = excluded.updated_at`,
				a.ID, a.RepoID, a.Fingerprint, string(a.State), a.SilencedBy, strings.Join(a.Sinks, ","), string(doc), MS(a.UpdatedAt)); err != nil {
				return fmt.Errorf("alert %s: %w", a.ID, err)
			}
		}
		for _, p := range c.Pending {
			// A group already pending keeps its FlushAt, so that a stream
			// of changes cannot postpone a message forever; one notified
			// before waits out its group interval (as Alertmanager does).
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_groups (sink, group_key, route_id, flush_at, group_interval_ms, repeat_ms)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (sink, group_key) DO UPDATE SET route_id = excluded.route_id,
				  flush_at = CASE WHEN alert_groups.flush_at > 0 THEN alert_groups.flush_at
				                  WHEN alert_groups.last_flush_at > 0 THEN (CASE WHEN alert_groups.last_flush_at + excluded.group_interval_ms > ? THEN alert_groups.last_flush_at + excluded.group_interval_ms ELSE ? END)
				                  ELSE excluded.flush_at END,
				  group_interval_ms = excluded.group_interval_ms, repeat_ms = excluded.repeat_ms`,
				p.Sink, p.Group, p.RouteID, MS(p.FlushAt), p.GroupInterval.Milliseconds(), p.RepeatInterval.Milliseconds(), MS(p.At), MS(p.At)); err != nil {
				return fmt.Errorf("group %s/%s: %w", p.Sink, p.Group, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_group_members (sink, group_key, alert_id, pending) VALUES (?, ?, ?, 1)
				ON CONFLICT (sink, group_key, alert_id) DO UPDATE SET pending = 1`, p.Sink, p.Group, p.AlertID); err != nil {
				return fmt.Errorf("group %s/%s: %w", p.Sink, p.Group, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit alerts: %w", err)
	}
	return nil
}

const groupColumns = `sink, group_key, route_id, seq, flush_at, repeat_at, last_flush_at, group_interval_ms, repeat_ms`

// DueGroups implements store.AlertOutbox.
func (s *DB) DueGroups(ctx context.Context, now time.Time) ([]store.AlertGroup, error) {
	at := MS(now)
	rs, err := s.query(ctx, `SELECT `+groupColumns+` FROM alert_groups
		WHERE (flush_at > 0 AND flush_at <= ?) OR (repeat_at > 0 AND repeat_at <= ?)
		ORDER BY CASE WHEN flush_at > 0 AND (repeat_at = 0 OR flush_at < repeat_at) THEN flush_at ELSE repeat_at END, sink, group_key`, at, at)
	if err != nil {
		return nil, fmt.Errorf("due groups: %w", err)
	}
	defer rs.Close()
	var out []store.AlertGroup
	for rs.Next() {
		var g store.AlertGroup
		var flush, repeat, last, gi, ri int64
		if err := rs.Scan(&g.Sink, &g.Group, &g.RouteID, &g.Seq, &flush, &repeat, &last, &gi, &ri); err != nil {
			return nil, fmt.Errorf("due groups: %w", err)
		}
		g.FlushAt, g.RepeatAt, g.LastFlushAt = fromMS(flush), fromMS(repeat), fromMS(last)
		g.GroupInterval, g.RepeatInterval = time.Duration(gi)*time.Millisecond, time.Duration(ri)*time.Millisecond
		out = append(out, g)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("due groups: %w", err)
	}
	return out, nil
}

// GroupAlerts implements store.AlertOutbox.
func (s *DB) GroupAlerts(ctx context.Context, sink, group string) ([]store.GroupMember, error) {
	rs, err := s.query(ctx, `SELECT a.doc, a.state, a.silenced_by, a.sinks, a.updated_at, m.pending
		FROM alert_group_members m JOIN alerts a ON a.id = m.alert_id
		WHERE m.sink = ? AND m.group_key = ? ORDER BY a.id`, sink, group)
	if err != nil {
		return nil, fmt.Errorf("alerts of group %s/%s: %w", sink, group, err)
	}
	defer rs.Close()
	var out []store.GroupMember
	for rs.Next() {
		var m store.GroupMember
		var doc, state, sinks string
		var updated int64
		if err := rs.Scan(&doc, &state, &m.SilencedBy, &sinks, &updated, &m.Pending); err != nil {
			return nil, fmt.Errorf("alerts of group %s/%s: %w", sink, group, err)
		}
		if err := json.Unmarshal([]byte(doc), &m.Alert); err != nil {
			return nil, fmt.Errorf("alerts of group %s/%s: %w", sink, group, err)
		}
		m.State, m.UpdatedAt = meridian.AlertState(state), fromMS(updated)
		if sinks != "" {
			m.Sinks = strings.Split(sinks, ",")
		}
		out = append(out, m)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("alerts of group %s/%s: %w", sink, group, err)
	}
	return out, nil
}

// FlushGroup implements store.AlertOutbox.
func (s *DB) FlushGroup(ctx context.Context, f store.GroupFlush) error {
	d := f.Delivery
	if d.Key != "" && len(d.Message) == 0 {
		return meridian.Errorf(meridian.EINVALID, "flush group %s/%s: delivery %s has no message", f.Sink, f.Group, d.Key)
	}
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alert_groups SET seq = ?, flush_at = 0, repeat_at = ?, last_flush_at = ?
			WHERE sink = ? AND group_key = ? AND seq = ?`, f.Seq, MS(f.RepeatAt), MS(d.CreatedAt), f.Sink, f.Group, f.Seq-1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return meridian.Errorf(meridian.ECONFLICT, "group %s/%s moved past sequence %d", f.Sink, f.Group, f.Seq-1)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_group_members SET pending = 0 WHERE sink = ? AND group_key = ?`, f.Sink, f.Group); err != nil {
			return err
		}
		for _, id := range f.Ended {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alert_group_members WHERE sink = ? AND group_key = ? AND alert_id = ?`, f.Sink, f.Group, id); err != nil {
				return err
			}
		}
		if d.Key == "" {
			return nil
		}
		// The key is the message's content identity: a delivery with it
		// exists only if this very message was made before.
		_, err = tx.ExecContext(ctx, `INSERT INTO alert_deliveries (key, sink, group_key, message, status, attempts, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (key) DO NOTHING`,
			d.Key, f.Sink, f.Group, string(d.Message), MS(d.CreatedAt), MS(d.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("flush group %s/%s: %w", f.Sink, f.Group, err)
	}
	return nil
}

const deliveryColumns = `id, key, sink, group_key, message, status, attempts, next_attempt_at, last_error, delivered_at, created_at`

func scanDeliveries(rs *Rows) ([]store.AlertDelivery, error) {
	var out []store.AlertDelivery
	for rs.Next() {
		var d store.AlertDelivery
		var msg string
		var next, created int64
		var delivered sql.NullInt64
		if err := rs.Scan(&d.ID, &d.Key, &d.Sink, &d.Group, &msg, &d.Status, &d.Attempts, &next, &d.LastError, &delivered, &created); err != nil {
			return nil, err
		}
		d.Message, d.NextAttemptAt, d.DeliveredAt, d.CreatedAt = json.RawMessage(msg), fromMS(next), fromNullMS(delivered), fromMS(created)
		out = append(out, d)
	}
	return out, rs.Err()
}

// DueDeliveries implements store.AlertOutbox.
func (s *DB) DueDeliveries(ctx context.Context, now time.Time, n int) ([]store.AlertDelivery, error) {
	rs, err := s.query(ctx, `SELECT `+deliveryColumns+` FROM alert_deliveries
		WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id`+limit(n), MS(now))
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rs.Close()
	out, err := scanDeliveries(rs)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return out, nil
}

// ListDeliveries implements store.AlertOutbox.
func (s *DB) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.AlertDelivery, error) {
	var w where
	w.eq("status", f.Status)
	w.eq("sink", f.Sink)
	rs, err := s.query(ctx, `SELECT `+deliveryColumns+` FROM alert_deliveries`+w.String()+` ORDER BY id DESC`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rs.Close()
	out, err := scanDeliveries(rs)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// FinishAttempt implements store.AlertOutbox.
func (s *DB) FinishAttempt(ctx context.Context, a store.DeliveryAttempt) error {
	switch a.Status {
	case store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
	default:
		return meridian.Errorf(meridian.EINVALID, "finish attempt of delivery %d: unknown status %q", a.ID, a.Status)
	}
	var delivered sql.NullInt64
	if a.Status == store.DeliveryDelivered {
		delivered = sql.NullInt64{Int64: MS(a.At), Valid: true}
	}
	// Only a pending delivery takes an outcome: a replayed or delivered
	// one is left to its newer state.
	res, err := s.exec(ctx, `UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?
		WHERE id = ? AND status = 'pending'`, a.Status, a.Attempts, MS(a.NextAttemptAt), a.LastError, delivered, a.ID)
	if err != nil {
		return fmt.Errorf("finish attempt of delivery %d: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("finish attempt of delivery %d: %w", a.ID, err)
	} else if n == 0 {
		return meridian.Errorf(meridian.ECONFLICT, "finish attempt of delivery %d: not pending", a.ID)
	}
	return nil
}

// ReplayDeadLetter implements store.AlertOutbox.
func (s *DB) ReplayDeadLetter(ctx context.Context, id int64, now time.Time) error {
	res, err := s.exec(ctx, `UPDATE alert_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?
		WHERE id = ? AND status = 'dead'`, MS(now), MS(now), id)
	if err != nil {
		return fmt.Errorf("replay dead letter %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("replay dead letter %d: %w", id, err)
	} else if n == 0 {
		return store.NotFound("dead letter", fmt.Sprint(id))
	}
	return nil
}

// AlertStats implements store.AlertOutbox.
func (s *DB) AlertStats(ctx context.Context) (store.AlertStats, error) {
	var st store.AlertStats
	var oldest sql.NullInt64
	if err := s.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM alert_outbox WHERE processed_at IS NULL`).Scan(&st.OutboxDepth, &oldest); err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	var oldestDelivery sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(created_at) FROM alert_deliveries WHERE status = 'pending'`).Scan(&oldestDelivery); err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	if oldestDelivery.Valid && (!oldest.Valid || oldestDelivery.Int64 < oldest.Int64) {
		oldest = oldestDelivery
	}
	st.OldestUndelivered = fromNullMS(oldest)
	rs, err := s.query(ctx, `SELECT state, sinks, COUNT(*) FROM alerts GROUP BY state, sinks`)
	if err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	counts := map[store.AlertCount]int{}
	for rs.Next() {
		var state, sinks string
		var n int
		if err := rs.Scan(&state, &sinks, &n); err != nil {
			rs.Close()
			return st, fmt.Errorf("alert stats: %w", err)
		}
		for _, sink := range strings.Split(sinks, ",") {
			counts[store.AlertCount{State: meridian.AlertState(state), Sink: sink}] += n
		}
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	for k, n := range counts {
		k.N = n
		st.Alerts = append(st.Alerts, k)
	}
	drs, err := s.query(ctx, `SELECT sink, status, COUNT(*) FROM alert_deliveries GROUP BY sink, status ORDER BY sink, status`)
	if err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	defer drs.Close()
	for drs.Next() {
		var c store.DeliveryCount
		if err := drs.Scan(&c.Sink, &c.Status, &c.N); err != nil {
			return st, fmt.Errorf("alert stats: %w", err)
		}
		st.Deliveries = append(st.Deliveries, c)
	}
	if err := drs.Err(); err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	return st, nil
}

// PruneAlerts implements store.AlertOutbox.
func (s *DB) PruneAlerts(ctx context.Context, before time.Time) (int64, error) {
	at := MS(before)
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`DELETE FROM alert_outbox WHERE processed_at IS NOT NULL AND processed_at < ?`,
			`DELETE FROM alert_deliveries WHERE status = 'delivered' AND delivered_at < ?`,
			`DELETE FROM alerts WHERE state = 'resolved' AND updated_at < ?
			   AND NOT EXISTS (SELECT 1 FROM alert_group_members m WHERE m.alert_id = alerts.id)`,
			`DELETE FROM alert_silences WHERE CASE WHEN expired_at < ends_at THEN expired_at ELSE ends_at END < ?`,
			`DELETE FROM alert_conditions WHERE cleared_at IS NOT NULL AND cleared_at < ?`,
		} {
			res, err := tx.ExecContext(ctx, q, at)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune alerts: %w", err)
	}
	return n, nil
}
