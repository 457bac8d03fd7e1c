package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store"
)

// sitesData is the edge sites page (/sites), or one site's (/sites/NAME,
// One set): the page alerts about a site link to, which exists for every
// registered site, a target of the config or not.
type sitesData struct {
	Overview *edge.Overview
	// One is the site of /sites/{name}; empty on the list.
	One string
	// Health is the list's filter (empty: all), one of Healths.
	Health  string
	Healths []string
	Rows    []siteRow
}

// siteRow is one site as the page shows it.
type siteRow struct {
	edge.SiteView
	// Tag is the health's colour class.
	Tag string
	// Behind and Seen say how long, in words.
	Behind, Seen string
	// Target: the site is a target of the head's plan, whose page exists.
	Target bool
}

// healthTags colour a site's health as the other pages colour states.
var healthTags = map[string]string{store.EdgeOK: "ok", edge.HealthSyncing: "info", store.EdgeBehind: "warn",
	store.EdgeFailing: "deny", store.EdgeStale: "warn", edge.HealthPending: "info", store.EdgeRetired: "info"}

// handleUISites is GET /sites[?health=H].
func (s *Server) handleUISites(w http.ResponseWriter, r *http.Request) {
	health := r.URL.Query().Get("health")
	if err := edge.ValidHealth(health); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderSites(w, r, "", health)
}

// handleUISite is GET /sites/{name}.
func (s *Server) handleUISite(w http.ResponseWriter, r *http.Request) {
	s.renderSites(w, r, chi.URLParam(r, "name"), "")
}

func (s *Server) renderSites(w http.ResponseWriter, r *http.Request, one, health string) {
	if s.opts.Edge == nil {
		s.pageError(w, r, meridian.Errorf(meridian.ENOTFOUND, "this server does not serve edge bundles"))
		return
	}
	o, err := s.opts.Edge.Overview(r.Context(), health)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := sitesData{Overview: o, One: one, Health: health, Healths: edge.Healths()}
	targets := s.headTargets(r)
	for _, sv := range o.Sites {
		if one != "" && sv.Site != one {
			continue
		}
		row := siteRow{SiteView: sv, Tag: healthTags[sv.Health], Behind: "-", Seen: s.ago(sv.LastSeen), Target: targets(sv.Site)}
		if !sv.BehindSince.IsZero() {
			row.Behind = time.Duration(sv.BehindSeconds * float64(time.Second)).Round(time.Second).String()
		}
		v.Rows = append(v.Rows, row)
	}
	if one != "" && len(v.Rows) == 0 {
		s.pageError(w, r, meridian.Errorf(meridian.ENOTFOUND, "edge site %q is not registered (meridian edge agent-config registers it)", clip(one)))
		return
	}
	title := "Edge sites"
	if one != "" {
		title = "Edge site " + one
	}
	s.render(w, r, "sites", title, "sites", v)
}

// headTargets tells whether a site is a target of the head's plan, so
// that the page links to the target's page only when it exists. Without a
// plan it knows none: the sites are listed all the same.
func (s *Server) headTargets(r *http.Request) func(site string) bool {
	id, err := s.headPlan()
	if err != nil {
		return func(string) bool { return false }
	}
	_, sum, err := s.summary(r.Context(), id)
	if err != nil {
		logger(r.Context(), s.log).WarnContext(r.Context(), "edge sites page: head plan", "err", err)
		return func(string) bool { return false }
	}
	return func(site string) bool {
		_, ok := sum.Target(site)
		return ok
	}
}
