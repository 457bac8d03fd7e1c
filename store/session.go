package store

import "time"

// The records of browser sign-in (migration 6's tables). Like tokens, only
// the SHA-256 of a session's secret or a sign-in code is stored, so that a
// copy of the store signs nobody in. The interface that uses them is
// defined by its consumer (package web).

// Session is a browser's signed-in session, created from an API token. It
// carries the token's hash, so that every request re-checks the token (a
// revoked or expired token ends its sessions at once).
type Session struct {
	// Hash is the hex SHA-256 of the session secret (the cookie's value).
	Hash string
	// TokenID and TokenHash name the token the session was signed in with.
	TokenID, TokenHash string
	CreatedAt          time.Time
	// LastSeenAt is when the session was last used (updated at most once
	// a minute), for the idle timeout.
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
}

// LoginCode is a one-time sign-in code: a link that signs a browser in as
// a token once, briefly, without the token itself appearing in a URL.
type LoginCode struct {
	// Hash is the hex SHA-256 of the code.
	Hash               string
	TokenID, TokenHash string
	CreatedAt          time.Time
	ExpiresAt          time.Time
}
