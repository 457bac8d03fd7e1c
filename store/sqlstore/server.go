package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridianhq/meridian/store"
)

// The server's records live in migration 2's tables. A token's role is
// kept in api_tokens.scopes as "role:<name>", so that finer scopes can be
// added beside it later without another column.

const rolePrefix = "role:"

// CreateToken stores a new API token.
func (s *DB) CreateToken(ctx context.Context, t store.Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	var expires sql.NullInt64
	if !t.ExpiresAt.IsZero() {
		expires = sql.NullInt64{Int64: MS(t.ExpiresAt), Valid: true}
	}
	_, err := s.exec(ctx, `INSERT INTO api_tokens (id, name, token_sha256, scopes, repo_id, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, '', ?, ?, ?)`, t.ID, t.Name, t.Hash, rolePrefix+t.Role, t.CreatedBy, MS(t.CreatedAt), expires)
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenColumns = `id, name, token_sha256, scopes, created_by, created_at, expires_at, revoked_at, last_used_at`

func scanToken(row scanner) (store.Token, error) {
	var t store.Token
	var scopes string
	var created int64
	var expires, revoked, used sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &scopes, &t.CreatedBy, &created, &expires, &revoked, &used); err != nil {
		return t, err
	}
	for _, sc := range strings.Fields(scopes) {
		if r, ok := strings.CutPrefix(sc, rolePrefix); ok {
			t.Role = r
		}
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMS(created), fromNullMS(expires), fromNullMS(revoked), fromNullMS(used)
	return t, nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (s *DB) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_sha256 = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not an identifier worth echoing.
		return t, store.NotFound("token", "(by hash)")
	}
	if err != nil {
		return t, fmt.Errorf("get token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, oldest first.
func (s *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked, keeping the first revocation time.
func (s *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, MS(at), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.NotFound("token", id)
	}
	return nil
}

// TouchToken records a token's last use.
func (s *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, MS(at), id); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// ClaimDelivery records a delivery unless one with its ID exists that did
// not fail. It is one INSERT ... ON CONFLICT statement, so concurrent
// claims of one ID (from any process or replica) have one winner: the row
// comes back only when it was inserted, or a failed delivery was taken
// over.
func (s *DB) ClaimDelivery(ctx context.Context, d store.Delivery) (bool, error) {
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	var id string
	err := s.queryRow(ctx, `INSERT INTO webhook_deliveries (delivery_id, repo_id, event, payload_sha256, received_at, status)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (delivery_id) DO UPDATE SET repo_id = excluded.repo_id, event = excluded.event,
			payload_sha256 = excluded.payload_sha256, received_at = excluded.received_at, status = excluded.status, run_id = '', error = ''
		WHERE webhook_deliveries.status = ?
		RETURNING delivery_id`,
		d.ID, d.RepoID, d.Event, d.PayloadSHA256, MS(d.ReceivedAt), store.DeliveryReceived, store.DeliveryFailed).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim delivery %s: %w", d.ID, err)
	}
	return true, nil
}

// FinishDelivery records a claimed delivery's outcome.
func (s *DB) FinishDelivery(ctx context.Context, id, status, runID, errMsg string) error {
	res, err := s.exec(ctx, `UPDATE webhook_deliveries SET status = ?, run_id = ?, error = ? WHERE delivery_id = ?`, status, runID, errMsg, id)
	if err != nil {
		return fmt.Errorf("finish delivery %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.NotFound("delivery", id)
	}
	return nil
}

// GetDelivery returns one delivery.
func (s *DB) GetDelivery(ctx context.Context, id string) (store.Delivery, error) {
	var d store.Delivery
	var at int64
	err := s.queryRow(ctx, `SELECT delivery_id, repo_id, event, payload_sha256, received_at, status, run_id, error
		FROM webhook_deliveries WHERE delivery_id = ?`, id).Scan(&d.ID, &d.RepoID, &d.Event, &d.PayloadSHA256, &at, &d.Status, &d.RunID, &d.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.NotFound("delivery", id)
	}
	if err != nil {
		return d, fmt.Errorf("get delivery %s: %w", id, err)
	}
	d.ReceivedAt = fromMS(at)
	return d, nil
}

// CountDeliveries counts deliveries by status.
func (s *DB) CountDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := s.query(ctx, `SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// LastComment returns the newest comment recorded for a pull request.
func (s *DB) LastComment(ctx context.Context, repoID string, pr int) (store.PRComment, bool, error) {
	c := store.PRComment{RepoID: repoID, PR: pr}
	var at int64
	err := s.queryRow(ctx, `SELECT plan_id, comment_id, body_sha256, posted_at FROM pr_comments
		WHERE repo_id = ? AND pr_number = ? ORDER BY posted_at DESC, id DESC LIMIT 1`, repoID, pr).Scan(&c.PlanID, &c.CommentID, &c.BodySHA256, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("last comment on PR %d: %w", pr, err)
	}
	c.PostedAt = fromMS(at)
	return c, true, nil
}

// RecordComment stores a posted comment, replacing the record for the same
// pull request and plan.
func (s *DB) RecordComment(ctx context.Context, c store.PRComment) error {
	if c.PostedAt.IsZero() {
		c.PostedAt = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO pr_comments (repo_id, pr_number, plan_id, comment_id, body_sha256, posted_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (repo_id, pr_number, plan_id) DO UPDATE SET comment_id = excluded.comment_id,
			body_sha256 = excluded.body_sha256, posted_at = excluded.posted_at`,
		c.RepoID, c.PR, c.PlanID, c.CommentID, c.BodySHA256, MS(c.PostedAt))
	if err != nil {
		return fmt.Errorf("record comment on PR %d: %w", c.PR, err)
	}
	return nil
}
