package meridian

import "time"

// EdgeSiteHealth is the payload of the edge.site_* events: an edge site's
// new health against the branch head (docs/edge.md). The edge service
// writes it; alerts read it.
type EdgeSiteHealth struct {
	Site string `json:"site"`
	// Health is behind, failing, stale, ok or retired; Previous the
	// health it left.
	Health         string    `json:"health"`
	Previous       string    `json:"previous,omitempty"`
	ActiveRevision string    `json:"active_revision,omitempty"`
	HeadRevision   string    `json:"head_revision,omitempty"`
	BehindSince    time.Time `json:"behind_since,omitzero"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	ErrorCode      string    `json:"error_code,omitempty"`
	ErrorMessage   string    `json:"error_message,omitempty"`
	// RetiredAt is when the site's last live credential was revoked.
	RetiredAt time.Time `json:"retired_at,omitzero"`
}
