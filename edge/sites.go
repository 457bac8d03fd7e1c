package edge

import (
	"context"
	"slices"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Overview is every site against the branch head (GET /api/v1/sites).
type Overview struct {
	// Head is nil before the branch was first planned.
	Head              *Head      `json:"head"`
	StaleAfterSeconds float64    `json:"stale_after_seconds"`
	Summary           Summary    `json:"summary"`
	Sites             []SiteView `json:"sites"`
}

// Summary counts the sites by state. A site counts once in Health terms
// (ok, syncing, behind, failing, stale, pending, retired); OnHead counts those that
// run the head revision.
type Summary struct {
	Total   int `json:"total"`
	OnHead  int `json:"on_head"`
	OK      int `json:"ok"`
	Syncing int `json:"syncing"`
	Behind  int `json:"behind"`
	Failing int `json:"failing"`
	Stale   int `json:"stale"`
	Pending int `json:"pending"`
	Retired int `json:"retired"`
}

// SiteView is one site's state now.
type SiteView struct {
	Site string `json:"site"`
	// Health is ok, syncing (behind for less than the grace period: the
	// rollout is under way), behind, failing, stale, pending (never
	// reported since it was enrolled) or retired (no live credential: it
	// is assessed no more).
	Health         string `json:"health"`
	ActiveRevision string `json:"active_revision"`
	OnHead         bool   `json:"on_head"`
	// BehindSince is when the head first moved past the site's revision;
	// BehindSeconds how long ago that is.
	BehindSince   time.Time  `json:"behind_since,omitzero"`
	BehindSeconds float64    `json:"behind_seconds,omitempty"`
	Error         *SiteError `json:"error,omitempty"`
	LastSeen      time.Time  `json:"last_seen,omitzero"`
	Activated     time.Time  `json:"activated,omitzero"`
	AgentID       string     `json:"agent_id,omitempty"`
	// RetiredAt is when the site's last live credential was revoked.
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// SiteError is the bundle error a site last reported.
type SiteError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Health values of SiteView beyond the stored ones.
const (
	HealthSyncing = "syncing"
	HealthPending = "pending"
)

// Overview assesses every site now. health filters by SiteView.Health
// (empty: all).
func (s *Service) Overview(ctx context.Context, health string) (*Overview, error) {
	sites, err := s.st.ListEdgeSites(ctx)
	if err != nil {
		return nil, err
	}
	head, now := s.Head(), s.opts.Now().UTC()
	o := &Overview{StaleAfterSeconds: s.opts.StaleAfter.Seconds(), Sites: []SiteView{}}
	if head.PlanID != "" {
		o.Head = &head
	}
	for _, rec := range sites {
		v := view(rec, head, now, s.opts.StaleAfter, s.opts.BehindAfter)
		o.Summary.add(v)
		if health == "" || v.Health == health {
			o.Sites = append(o.Sites, v)
		}
	}
	return o, nil
}

// ValidHealth checks a health filter.
func ValidHealth(h string) error {
	if h == "" || slices.Contains(Healths(), h) {
		return nil
	}
	return meridian.Errorf(meridian.EINVALID, "health must be ok, syncing, behind, failing, stale, pending or retired, got %q", h)
}

// Healths are the healths a site can have, in the order pages list them.
func Healths() []string {
	return []string{store.EdgeOK, HealthSyncing, store.EdgeBehind, store.EdgeFailing, store.EdgeStale, HealthPending, store.EdgeRetired}
}

func view(rec store.EdgeSite, head Head, now time.Time, staleAfter, behindAfter time.Duration) SiteView {
	rec, _ = assess(rec, head, now, staleAfter, behindAfter)
	v := SiteView{Site: rec.Site, Health: rec.Health, ActiveRevision: rec.ActiveRevision, BehindSince: rec.BehindSince,
		LastSeen: rec.LastSeen, Activated: rec.Activated, AgentID: rec.AgentID}
	v.OnHead = head.Revision != "" && rec.ActiveRevision == head.Revision && !rec.Retired()
	finishView(&v, rec, now)
	return v
}

// finishView fills in what v's health, error and lag derive from rec.
func finishView(v *SiteView, rec store.EdgeSite, now time.Time) {
	if rec.Retired() {
		// What it last ran is history: nobody runs it any more.
		v.Health, v.RetiredAt, v.OnHead, v.BehindSince = store.EdgeRetired, rec.RetiredAt, false, time.Time{}
		return
	}
	if !rec.BehindSince.IsZero() {
		v.BehindSeconds = now.Sub(rec.BehindSince).Seconds()
	}
	if rec.ErrorCode != "" {
		v.Error = &SiteError{Code: rec.ErrorCode, Message: rec.ErrorMessage}
	}
	switch {
	case v.Health == store.EdgePending:
		v.Health = HealthPending
	case v.Health == store.EdgeOK && !rec.BehindSince.IsZero():
		v.Health = HealthSyncing
	}
}

// StoredView is site rec as the store holds it, for a reader without the
// server's head (`meridian edge sites`): its health and behind_since are
// the server's last assessment, except that a site silent for longer than
// staleAfter is stale whatever was assessed, and a retired one retired
// even before the server announced it.
func StoredView(rec store.EdgeSite, now time.Time, staleAfter time.Duration) SiteView {
	if !rec.LastSeen.IsZero() && now.Sub(rec.LastSeen) > staleAfter {
		rec.Health = store.EdgeStale
	}
	v := SiteView{Site: rec.Site, Health: rec.Health, ActiveRevision: rec.ActiveRevision, BehindSince: rec.BehindSince,
		LastSeen: rec.LastSeen, Activated: rec.Activated, AgentID: rec.AgentID,
		OnHead: rec.ActiveRevision != "" && rec.BehindSince.IsZero()}
	finishView(&v, rec, now)
	return v
}

func (s *Summary) add(v SiteView) {
	s.Total++
	if v.OnHead {
		s.OnHead++
	}
	switch v.Health {
	case store.EdgeOK:
		s.OK++
	case HealthSyncing:
		s.Syncing++
	case store.EdgeBehind:
		s.Behind++
	case store.EdgeFailing:
		s.Failing++
	case store.EdgeStale:
		s.Stale++
	case HealthPending:
		s.Pending++
	case store.EdgeRetired:
		s.Retired++
	}
}
