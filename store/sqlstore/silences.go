package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// CreateSilence implements store.Silences.
func (s *DB) CreateSilence(ctx context.Context, sl meridian.Silence) (meridian.Silence, error) {
	if sl.Name == "" && sl.Workload == "" && sl.Target == "" && sl.Team == "" && sl.Severity == "" {
		return sl, meridian.Errorf(meridian.EINVALID, "create silence: needs at least one matcher (name, workload, target, team or severity)")
	}
	now := fromMS(MS(s.now()))
	if sl.StartsAt.IsZero() {
		sl.StartsAt = now
	}
	sl.StartsAt, sl.EndsAt, sl.ExpiredAt = fromMS(MS(sl.StartsAt)), fromMS(MS(sl.EndsAt)), fromMS(MS(sl.ExpiredAt))
	if !sl.EndsAt.After(sl.StartsAt) {
		return sl, meridian.Errorf(meridian.EINVALID, "create silence: ends (%s) before it starts (%s)", sl.EndsAt, sl.StartsAt)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	sl.ID = hex.EncodeToString(b[:])
	doc, err := json.Marshal(sl)
	if err != nil {
		return sl, fmt.Errorf("create silence: %w", err)
	}
	if _, err := s.exec(ctx, `INSERT INTO alert_silences (id, repo_id, doc, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sl.ID, sl.RepoID, string(doc), MS(sl.StartsAt), MS(sl.EndsAt), MS(now)); err != nil {
		return sl, fmt.Errorf("create silence: %w", err)
	}
	return sl, nil
}

// ListSilences implements store.Silences.
func (s *DB) ListSilences(ctx context.Context, f store.SilenceFilter) ([]meridian.Silence, error) {
	var w where
	w.eq("repo_id", f.RepoID)
	if !f.ActiveAt.IsZero() {
		at := MS(f.ActiveAt)
		w.add("starts_at <= ? AND ends_at > ? AND (expired_at IS NULL OR expired_at > ?)", at, at, at)
	}
	rs, err := s.query(ctx, `SELECT doc FROM alert_silences`+w.String()+` ORDER BY created_at DESC, id`+limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rs.Close()
	var out []meridian.Silence
	for rs.Next() {
		var doc string
		if err := rs.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		var sl meridian.Silence
		if err := json.Unmarshal([]byte(doc), &sl); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		out = append(out, sl)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// ExpireSilence implements store.Silences.
func (s *DB) ExpireSilence(ctx context.Context, id string) (meridian.Silence, error) {
	var sl meridian.Silence
	err := s.tx(ctx, func(tx *Tx) error {
		var doc string
		if err := tx.QueryRowContext(ctx, `SELECT doc FROM alert_silences WHERE id = ?`+s.d.ForUpdate, id).Scan(&doc); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.NotFound("silence", id)
			}
			return err
		}
		if err := json.Unmarshal([]byte(doc), &sl); err != nil {
			return err
		}
		now := fromMS(MS(s.now()))
		if !sl.ExpiredAt.IsZero() || !now.Before(sl.EndsAt) {
			return nil // already over
		}
		sl.ExpiredAt = now
		b, err := json.Marshal(sl)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE alert_silences SET doc = ?, expired_at = ? WHERE id = ?`, string(b), MS(now), id)
		return err
	})
	if err != nil {
		return sl, fmt.Errorf("expire silence %s: %w", id, err)
	}
	return sl, nil
}
