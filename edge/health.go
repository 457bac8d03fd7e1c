package edge

import (
	"encoding/json"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// healthEvent is the payload of the edge.site_* events.
type healthEvent struct {
	Site           string    `json:"site"`
	Health         string    `json:"health"`
	Previous       string    `json:"previous,omitempty"`
	ActiveRevision string    `json:"active_revision,omitempty"`
	HeadRevision   string    `json:"head_revision,omitempty"`
	BehindSince    time.Time `json:"behind_since,omitzero"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	ErrorCode      string    `json:"error_code,omitempty"`
	ErrorMessage   string    `json:"error_message,omitempty"`
}

// assess brings s up to date with head at now: when it fell behind, and
// its health. A change of health to behind, failing or stale, or from one
// of them back to ok, yields the event announcing it. A stale site is
// reported stale whatever it said last, since what it said is old; a
// failing one (its bundle does not load or verify) before a merely
// behind one. Behind counts only after behindAfter, so that a rollout
// in progress is not an alert.
func assess(s store.EdgeSite, head Head, now time.Time, staleAfter, behindAfter time.Duration) (store.EdgeSite, []meridian.Event) {
	switch {
	case head.Revision == "" || s.ActiveRevision == head.Revision:
		s.BehindSince = time.Time{}
	case s.BehindSince.IsZero():
		s.BehindSince = head.Since
		if s.CreatedAt.After(s.BehindSince) {
			s.BehindSince = s.CreatedAt
		}
	}
	health := store.EdgePending
	switch {
	case s.LastSeen.IsZero():
	case now.Sub(s.LastSeen) > staleAfter:
		health = store.EdgeStale
	case s.ErrorCode != "":
		health = store.EdgeFailing
	case !s.BehindSince.IsZero() && now.Sub(s.BehindSince) >= behindAfter:
		health = store.EdgeBehind
	default:
		health = store.EdgeOK
	}
	if health == s.Health {
		return s, nil
	}
	prev := s.Health
	s.Health, s.HealthSince = health, now
	var typ meridian.EventType
	switch health {
	case store.EdgeBehind:
		typ = meridian.EventEdgeSiteBehind
	case store.EdgeFailing:
		typ = meridian.EventEdgeSiteFailing
	case store.EdgeStale:
		typ = meridian.EventEdgeSiteStale
	case store.EdgeOK:
		if prev == store.EdgePending {
			return s, nil
		}
		typ = meridian.EventEdgeSiteRecovered
	default:
		return s, nil
	}
	// A healthEvent marshals without error: strings and times.
	payload, _ := json.Marshal(healthEvent{Site: s.Site, Health: health, Previous: prev, ActiveRevision: s.ActiveRevision,
		HeadRevision: head.Revision, BehindSince: s.BehindSince, LastSeen: s.LastSeen, ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage})
	return s, []meridian.Event{{Type: typ, Time: now, Target: s.Site, Commit: head.Commit, PlanID: head.PlanID, Payload: payload}}
}
