package store

import (
	"context"
	"time"

	"github.com/meridianhq/meridian"
)

// The records of the OPA bundle server (migrations SQLite 14-15,
// PostgreSQL 12-13; docs/edge.md): each edge site's credentials and what
// its agent last reported.

// EdgeCredential is a site's bearer credential for the bundle and status
// endpoints. Only the SHA-256 of its secret is stored.
type EdgeCredential struct {
	ID   string
	Site string
	// Hash is the hex SHA-256 of the secret.
	Hash      string
	CreatedBy string
	CreatedAt time.Time
	RevokedAt time.Time
}

// Revoked reports whether the credential was revoked.
func (c EdgeCredential) Revoked() bool { return !c.RevokedAt.IsZero() }

// Health of an edge site, as last announced in the event feed.
const (
	// EdgePending: the site has a credential but never reported.
	EdgePending = ""
	EdgeOK      = "ok"
	EdgeBehind  = "behind"
	EdgeFailing = "failing"
	EdgeStale   = "stale"
)

// EdgeSite is what Meridian knows of one edge site's OPA agent. Zero
// times mean never.
type EdgeSite struct {
	Site      string
	CreatedAt time.Time
	// ActiveRevision is the bundle revision the agent last reported
	// active; AgentID the OPA instance that reported it.
	ActiveRevision string
	AgentID        string
	// LastSeen is the last status report; Activated the agent's last
	// successful bundle activation.
	LastSeen  time.Time
	Activated time.Time
	// ErrorCode and ErrorMessage are the bundle error of the last report
	// (a failed download, activation or signature check); empty: none.
	ErrorCode, ErrorMessage string
	// Health is one of the Edge constants, since HealthSince: the state
	// whose event was last appended, so that a transition is announced
	// once.
	Health      string
	HealthSince time.Time
	// BehindSince is when the branch head first moved past the revision
	// the site still runs; zero while it runs the head.
	BehindSince time.Time
}

// EdgeSites keeps edge sites, their credentials and their reports.
type EdgeSites interface {
	// CreateEdgeCredential stores c (c.ID and c.Hash must be unique) and
	// registers c.Site when it is new, in one transaction.
	CreateEdgeCredential(ctx context.Context, c EdgeCredential) error
	// EdgeCredentialByHash returns the credential whose secret hashes to
	// hash, revoked or not, or an ENOTFOUND error.
	EdgeCredentialByHash(ctx context.Context, hash string) (EdgeCredential, error)
	// RevokeEdgeCredentials revokes, at at, site's credentials that are
	// not revoked yet (only the one with ID id when id is not empty) and
	// returns how many it revoked. A site is never unregistered: its
	// record and history stay.
	RevokeEdgeCredentials(ctx context.Context, site, id string, at time.Time) (int, error)
	// GetEdgeSite returns one registered site, or an ENOTFOUND error.
	GetEdgeSite(ctx context.Context, site string) (EdgeSite, error)
	// ListEdgeSites returns the registered sites by name.
	ListEdgeSites(ctx context.Context) ([]EdgeSite, error)
	// SaveEdgeSite replaces a registered site's record and appends evs in
	// the same transaction, returning them with their IDs. A site that is
	// not registered is ENOTFOUND and nothing is written.
	SaveEdgeSite(ctx context.Context, s EdgeSite, evs []meridian.Event) ([]meridian.Event, error)
}
