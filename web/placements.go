package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
)

func (s *Server) placementRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/placements", s.handlePlacementList)
	r.With(s.require(RoleViewer)).Get("/placements/{workload}/explain", s.handlePlacementExplain)
}

// handlePlacementList lists a plan's placements (?plan_id=, default the
// branch's newest plan), optionally only those of ?workload= or ?target=,
// each with its cost breakdown and the reasons for it.
func (s *Server) handlePlacementList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.selectPlan(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	var out []meridian.Placement
	for _, pl := range d.plan.Placements {
		if match(q.Get("workload"), pl.Workload) && match(q.Get("target"), pl.Target) {
			out = append(out, pl)
		}
	}
	writeJSON(w, http.StatusOK, pageOf(out, p))
}

// match is an optional equality filter: an empty want matches everything.
func match(want, got string) bool { return want == "" || want == got }
