package edge

import (
	"encoding/json"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// assess brings s up to date with head at now: when it fell behind, and
// its health. A change of health to behind, failing or stale, or from one
// of them back to ok, yields the event announcing it. A stale site is
// reported stale whatever it said last, since what it said is old; a
// failing one (its bundle does not load or verify) before a merely
// behind one. Behind counts only after behindAfter, so that a rollout
// in progress is not an alert. A retired site is announced once and then
// left as it is: nobody is there to report.
func assess(s store.EdgeSite, head Head, now time.Time, staleAfter, behindAfter time.Duration) (store.EdgeSite, []meridian.Event) {
	if s.Retired() {
		if s.Health == store.EdgeRetired {
			return s, nil
		}
		return announce(s, store.EdgeRetired, meridian.EventEdgeSiteRetired, head, now)
	}
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
	var typ meridian.EventType
	switch health {
	case store.EdgeBehind:
		typ = meridian.EventEdgeSiteBehind
	case store.EdgeFailing:
		typ = meridian.EventEdgeSiteFailing
	case store.EdgeStale:
		typ = meridian.EventEdgeSiteStale
	case store.EdgeOK:
		if alerting(s.Health) {
			typ = meridian.EventEdgeSiteRecovered
		}
	case store.EdgePending:
		if alerting(s.Health) {
			// Retired and enrolled again before the retirement was
			// announced: the old agent's alerts end here.
			typ = meridian.EventEdgeSiteRetired
		}
	}
	if typ == "" {
		s.Health, s.HealthSince = health, now
		return s, nil
	}
	return announce(s, health, typ, head, now)
}

// alerting reports whether health raises an alert.
func alerting(health string) bool {
	return health == store.EdgeBehind || health == store.EdgeFailing || health == store.EdgeStale
}

// announce moves s to health at now, with the event typ that says so.
func announce(s store.EdgeSite, health string, typ meridian.EventType, head Head, now time.Time) (store.EdgeSite, []meridian.Event) {
	prev := s.Health
	s.Health, s.HealthSince = health, now
	// An EdgeSiteHealth marshals without error: strings and times.
	payload, _ := json.Marshal(meridian.EdgeSiteHealth{Site: s.Site, Health: health, Previous: prev, ActiveRevision: s.ActiveRevision,
		HeadRevision: head.Revision, BehindSince: s.BehindSince, LastSeen: s.LastSeen, ErrorCode: s.ErrorCode, ErrorMessage: s.ErrorMessage,
		RetiredAt: s.RetiredAt})
	return s, []meridian.Event{{Type: typ, Time: now, Target: s.Site, Commit: head.Commit, PlanID: head.PlanID, Payload: payload}}
}
