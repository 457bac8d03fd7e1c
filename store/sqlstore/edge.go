package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

var _ store.EdgeSites = (*DB)(nil)

// CreateEdgeCredential implements store.EdgeSites.
func (s *DB) CreateEdgeCredential(ctx context.Context, c store.EdgeCredential) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO edge_sites (site, created_at) VALUES (?, ?) ON CONFLICT (site) DO NOTHING`,
			c.Site, MS(c.CreatedAt)); err != nil {
			return err
		}
		if err := lockEdgeSite(ctx, tx, c.Site); err != nil {
			return err
		}
		// Enrolled again after retirement: the old agent's report is not
		// the new one's, and the site is pending until it reports.
		if _, err := tx.ExecContext(ctx, `UPDATE edge_sites SET retired_at = 0, created_at = ?, active_revision = '', agent_id = '',
			last_seen_at = 0, activated_at = 0, error_code = '', error_message = '', behind_since = 0
			WHERE site = ? AND retired_at <> 0`, MS(c.CreatedAt), c.Site); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO edge_credentials (id, site, sha256, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Site, c.Hash, c.CreatedBy, MS(c.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create credential for edge site %s: %w", c.Site, err)
	}
	return nil
}

// lockEdgeSite write-locks site's record for the rest of tx, so that a
// credential created and one revoked at the same moment (PostgreSQL's
// read committed) cannot leave a site retired with a live credential:
// the second transaction waits, then sees the first's credentials.
func lockEdgeSite(ctx context.Context, tx *Tx, site string) error {
	_, err := tx.ExecContext(ctx, `UPDATE edge_sites SET retired_at = retired_at WHERE site = ?`, site)
	return err
}

// EdgeCredentialByHash implements store.EdgeSites.
func (s *DB) EdgeCredentialByHash(ctx context.Context, hash string) (store.EdgeCredential, error) {
	c := store.EdgeCredential{Hash: hash}
	var created int64
	var revoked sql.NullInt64
	err := s.queryRow(ctx, `SELECT id, site, created_by, created_at, revoked_at FROM edge_credentials WHERE sha256 = ?`, hash).
		Scan(&c.ID, &c.Site, &c.CreatedBy, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.NotFound("edge credential", "(by hash)")
	}
	if err != nil {
		return c, fmt.Errorf("get edge credential: %w", err)
	}
	c.CreatedAt, c.RevokedAt = fromMS(created), fromNullMS(revoked)
	return c, nil
}

// RevokeEdgeCredentials implements store.EdgeSites.
func (s *DB) RevokeEdgeCredentials(ctx context.Context, site, id string, at time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *Tx) error {
		if err := lockEdgeSite(ctx, tx, site); err != nil {
			return err
		}
		q, args := `UPDATE edge_credentials SET revoked_at = ? WHERE site = ? AND revoked_at IS NULL`, []any{MS(at), site}
		if id != "" {
			q, args = q+` AND id = ?`, append(args, id)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE edge_sites SET retired_at = ? WHERE site = ? AND retired_at = 0
			AND NOT EXISTS (SELECT 1 FROM edge_credentials WHERE site = ? AND revoked_at IS NULL)`, MS(at), site, site)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke credentials of edge site %s: %w", site, err)
	}
	return int(n), nil
}

const edgeSiteColumns = `site, created_at, active_revision, agent_id, last_seen_at, activated_at, error_code, error_message,
	health, health_since, behind_since, retired_at`

func scanEdgeSite(row scanner) (store.EdgeSite, error) {
	var e store.EdgeSite
	var created, seen, activated, since, behind, retired int64
	err := row.Scan(&e.Site, &created, &e.ActiveRevision, &e.AgentID, &seen, &activated, &e.ErrorCode, &e.ErrorMessage,
		&e.Health, &since, &behind, &retired)
	e.CreatedAt, e.LastSeen, e.Activated, e.HealthSince, e.BehindSince = fromMS(created), fromMS(seen), fromMS(activated), fromMS(since), fromMS(behind)
	e.RetiredAt = fromMS(retired)
	return e, err
}

// GetEdgeSite implements store.EdgeSites.
func (s *DB) GetEdgeSite(ctx context.Context, site string) (store.EdgeSite, error) {
	e, err := scanEdgeSite(s.queryRow(ctx, `SELECT `+edgeSiteColumns+` FROM edge_sites WHERE site = ?`, site))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.NotFound("edge site", site)
	}
	if err != nil {
		return e, fmt.Errorf("get edge site %s: %w", site, err)
	}
	return e, nil
}

// ListEdgeSites implements store.EdgeSites.
func (s *DB) ListEdgeSites(ctx context.Context) ([]store.EdgeSite, error) {
	rows, err := s.query(ctx, `SELECT `+edgeSiteColumns+` FROM edge_sites ORDER BY site`)
	if err != nil {
		return nil, fmt.Errorf("list edge sites: %w", err)
	}
	defer rows.Close()
	var out []store.EdgeSite
	for rows.Next() {
		e, err := scanEdgeSite(rows)
		if err != nil {
			return nil, fmt.Errorf("list edge sites: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SaveEdgeSite implements store.EdgeSites.
func (s *DB) SaveEdgeSite(ctx context.Context, prev, e store.EdgeSite, evs []meridian.Event) ([]meridian.Event, error) {
	if err := store.CheckEvents(evs); err != nil {
		return nil, err
	}
	var out []meridian.Event
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE edge_sites SET active_revision = ?, agent_id = ?, last_seen_at = ?, activated_at = ?,
			error_code = ?, error_message = ?, health = ?, health_since = ?, behind_since = ?
			WHERE site = ? AND last_seen_at = ? AND health = ? AND health_since = ? AND behind_since = ? AND retired_at = ? AND created_at = ?`,
			e.ActiveRevision, e.AgentID, MS(e.LastSeen), MS(e.Activated), e.ErrorCode, e.ErrorMessage, e.Health, MS(e.HealthSince),
			MS(e.BehindSince), e.Site, MS(prev.LastSeen), prev.Health, MS(prev.HealthSince), MS(prev.BehindSince), MS(prev.RetiredAt), MS(prev.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM edge_sites WHERE site = ?`, e.Site).Scan(&one); {
			case errors.Is(err, sql.ErrNoRows):
				return store.NotFound("edge site", e.Site)
			case err != nil:
				return err
			}
			return meridian.Errorf(meridian.ECONFLICT, "edge site %s changed since it was read", e.Site)
		}
		out, err = appendEvents(ctx, tx, s.now(), evs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save edge site %s: %w", e.Site, err)
	}
	return out, nil
}
