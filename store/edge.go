package store

import (
	"context"
	"time"

	"github.com/meridianhq/meridian"
)

// The records of the OPA bundle server (migrations SQLite 13-14 and 16,
// PostgreSQL 11-12 and 14; docs/edge.md): each edge site's credentials and what
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
	// EdgeRetired: the site's last live credential was revoked and the
	// retirement announced; it is assessed no more.
	EdgeRetired = "retired"
)

// EdgeSite is what Meridian knows of one edge site's OPA agent. Zero
// times mean never.
type EdgeSite struct {
	Site string
	// CreatedAt is when the site was registered, or enrolled again after
	// it was retired.
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
	// RetiredAt is when the site's last live credential was revoked; zero
	// while it has one. The credential calls keep it, not SaveEdgeSite.
	RetiredAt time.Time
}

// Retired reports whether the site has no live credential left.
func (s EdgeSite) Retired() bool { return !s.RetiredAt.IsZero() }

// EdgeSites keeps edge sites, their credentials and their reports.
type EdgeSites interface {
	// CreateEdgeCredential stores c (c.ID and c.Hash must be unique) and
	// registers c.Site when it is new, in one transaction. A retired site
	// is enrolled again: RetiredAt and its agent's last report are
	// cleared and CreatedAt becomes c.CreatedAt, so that it is pending
	// until its new agent reports; its Health is left for the edge
	// service to assess.
	CreateEdgeCredential(ctx context.Context, c EdgeCredential) error
	// EdgeCredentialByHash returns the credential whose secret hashes to
	// hash, revoked or not, or an ENOTFOUND error.
	EdgeCredentialByHash(ctx context.Context, hash string) (EdgeCredential, error)
	// RevokeEdgeCredentials revokes, at at, site's credentials that are
	// not revoked yet (only the one with ID id when id is not empty) and
	// returns how many it revoked. When that leaves the site without a
	// live credential, the same transaction retires it (RetiredAt = at).
	// A site is never unregistered: its record and history stay.
	RevokeEdgeCredentials(ctx context.Context, site, id string, at time.Time) (int, error)
	// GetEdgeSite returns one registered site, or an ENOTFOUND error.
	GetEdgeSite(ctx context.Context, site string) (EdgeSite, error)
	// ListEdgeSites returns the registered sites by name.
	ListEdgeSites(ctx context.Context) ([]EdgeSite, error)
	// SaveEdgeSite replaces a registered site's record, read as prev, with
	// s and appends evs in the same transaction, returning them with their
	// IDs. When another writer (a replica sharing the store) changed the
	// record since (its last report, health or behind_since differ from
	// prev's, or it was retired or enrolled since), it is ECONFLICT and
	// nothing is written: the caller re-reads and re-assesses, so that one
	// change of health appends its events once. A site that is not registered is ENOTFOUND.
	SaveEdgeSite(ctx context.Context, prev, s EdgeSite, evs []meridian.Event) ([]meridian.Event, error)
}
