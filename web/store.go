package web

import (
	"context"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Store is everything the HTTP handlers read and record; what the control
// loop needs is controlplane.Store. store/sqlite implements both;
// controlplanetest.Store is an in-memory implementation for tests. Like
// store.Store, implementations must be safe for concurrent use.
type Store interface {
	store.Repos
	store.Plans
	store.Runs
	store.Audit
	LockStore
	DriftReader
	Tokens
	Deliveries
	// Ping checks that the store answers queries and takes writes (for
	// /readyz), committing nothing. A store that cannot write (a full disk,
	// a read-only file) fails with a store.UnavailableError.
	Ping(ctx context.Context) error
}

// LockStore is the part of store.Locks the API exposes.
type LockStore interface {
	ListLocks(ctx context.Context, repoID string) ([]store.Lock, error)
	// ListLockWaiters lists the runs queued for a repo's locks, by target
	// and position.
	ListLockWaiters(ctx context.Context, repoID string) ([]store.LockWaiter, error)
	ForceUnlock(ctx context.Context, key store.LockKey, actor, reason string) (store.Lock, bool, error)
}

// DriftReader reads drift records (store.DriftRecords).
type DriftReader interface {
	ListDrift(ctx context.Context, f store.DriftFilter) ([]meridian.DriftRecord, error)
}

// Tokens keeps API tokens. Only a token's SHA-256 is stored, never the
// token itself.
type Tokens interface {
	// CreateToken stores t. t.ID and t.Hash must be unique.
	CreateToken(ctx context.Context, t store.Token) error
	// TokenByHash returns the token whose secret hashes to hash (hex
	// SHA-256), revoked or not, or an ENOTFOUND error.
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	// ListTokens returns every token, oldest first.
	ListTokens(ctx context.Context) ([]store.Token, error)
	// RevokeToken marks token id revoked at the given time. Revoking a
	// revoked token keeps the first time. A missing token is ENOTFOUND.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// TouchToken records that token id was used at the given time.
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Deliveries records webhook deliveries by their delivery ID, so that a
// redelivered webhook is acknowledged but not processed twice.
type Deliveries interface {
	// ClaimDelivery records d (status store.DeliveryReceived) and returns
	// true, unless a delivery with d.ID exists that did not fail: then it
	// changes nothing and returns false. A failed delivery is claimed
	// again, so that GitHub's "redeliver" retries it. The check and the
	// write are atomic: of concurrent claims of one ID, exactly one wins.
	ClaimDelivery(ctx context.Context, d store.Delivery) (bool, error)
	// FinishDelivery records the outcome of a claimed delivery.
	FinishDelivery(ctx context.Context, id, status, runID, errMsg string) error
	// GetDelivery returns one delivery, or an ENOTFOUND error.
	GetDelivery(ctx context.Context, id string) (store.Delivery, error)
	// CountDeliveries counts the deliveries by status.
	CountDeliveries(ctx context.Context) (map[string]int, error)
}
