package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meridianhq/meridian/store"
)

// Browser sessions and one-time sign-in codes live in migration 6's
// tables. Creating either deletes the expired ones, which bounds the
// tables without a janitor.

// CreateSession stores a new session and drops expired ones.
func (s *DB) CreateSession(ctx context.Context, ss store.Session) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, MS(ss.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (session_sha256, token_id, token_sha256, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, ss.Hash, ss.TokenID, ss.TokenHash, MS(ss.CreatedAt), MS(ss.LastSeenAt), MS(ss.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session whose secret hashes to hash, expired
// or not, or an ENOTFOUND error.
func (s *DB) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	ss := store.Session{Hash: hash}
	var created, seen, expires int64
	err := s.queryRow(ctx, `SELECT token_id, token_sha256, created_at, last_seen_at, expires_at FROM sessions WHERE session_sha256 = ?`,
		hash).Scan(&ss.TokenID, &ss.TokenHash, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, store.NotFound("session", "(by hash)")
	}
	if err != nil {
		return ss, fmt.Errorf("get session: %w", err)
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return ss, nil
}

// TouchSession records a session's last use.
func (s *DB) TouchSession(ctx context.Context, hash string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE session_sha256 = ?`, MS(at), hash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession deletes a session; a missing one is not an error.
func (s *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE session_sha256 = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CreateLoginCode stores a new sign-in code and drops expired ones.
func (s *DB) CreateLoginCode(ctx context.Context, c store.LoginCode) error {
	err := s.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_codes WHERE expires_at <= ?`, MS(c.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_codes (code_sha256, token_id, token_sha256, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, c.Hash, c.TokenID, c.TokenHash, MS(c.CreatedAt), MS(c.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create sign-in code: %w", err)
	}
	return nil
}

// ConsumeLoginCode deletes the code that hashes to hash and returns it.
// The delete is one statement, so of concurrent uses exactly one gets the
// code; the others, like unknown codes, get ENOTFOUND. An expired code is
// deleted too, and returned for the caller to refuse.
func (s *DB) ConsumeLoginCode(ctx context.Context, hash string) (store.LoginCode, error) {
	c := store.LoginCode{Hash: hash}
	var created, expires int64
	err := s.queryRow(ctx, `DELETE FROM login_codes WHERE code_sha256 = ? RETURNING token_id, token_sha256, created_at, expires_at`,
		hash).Scan(&c.TokenID, &c.TokenHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.NotFound("sign-in code", "(by hash)")
	}
	if err != nil {
		return c, fmt.Errorf("use sign-in code: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
	return c, nil
}
