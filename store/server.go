package store

import "time"

// The records of `meridian serve` (migration 2's tables): API tokens,
// webhook deliveries and pull-request comments. The interfaces that use
// them are defined by their consumers (package web).

// Token is an API token. Only the SHA-256 of its secret is stored.
type Token struct {
	ID   string
	Name string
	// Role is viewer, operator or admin.
	Role string
	// Hash is the hex SHA-256 of the secret.
	Hash      string
	CreatedBy string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt  time.Time
	RevokedAt  time.Time
	LastUsedAt time.Time
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// Expired reports whether the token has expired at now. A token expires at
// ExpiresAt exactly, so that a zero-length lifetime is never valid.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// Statuses of a webhook delivery.
const (
	DeliveryReceived  = "received"
	DeliveryProcessed = "processed"
	DeliveryIgnored   = "ignored"
	DeliveryFailed    = "failed"
)

// Delivery is one webhook delivery.
type Delivery struct {
	// ID is the forge's delivery ID (GitHub's X-GitHub-Delivery).
	ID            string
	RepoID        string
	Event         string
	PayloadSHA256 string
	ReceivedAt    time.Time
	// Status is one of the Delivery constants.
	Status string
	// RunID is the run the delivery caused, if any.
	RunID string
	Error string
}

// PRComment is a pull-request comment posted for a plan.
type PRComment struct {
	RepoID string
	PR     int
	PlanID string
	// CommentID is the forge's comment ID, for edits.
	CommentID string
	// BodySHA256 is the hex SHA-256 of the body, to skip identical edits.
	BodySHA256 string
	PostedAt   time.Time
}
