package web

import (
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
)

func (s *Server) forecastRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/forecasts", s.handleForecastList)
	r.With(s.require(RoleViewer)).Get("/forecasts/{workload}", s.handleForecastGet)
}

// forecastView is how a plan sized one workload: from replicas.min, or from
// the forecast of its load (model, peak quantiles and headroom).
type forecastView struct {
	Workload string          `json:"workload"`
	PlanID   string          `json:"plan_id"`
	Sizing   meridian.Sizing `json:"sizing"`
}

func forecasts(d *planDoc) []forecastView {
	seen := map[string]bool{}
	var out []forecastView
	for _, pl := range d.plan.Placements {
		if seen[pl.Workload] || pl.Explanation.Sizing == nil {
			continue
		}
		seen[pl.Workload] = true
		out = append(out, forecastView{Workload: pl.Workload, PlanID: d.rec.ID, Sizing: *pl.Explanation.Sizing})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Workload < out[j].Workload })
	return out
}

// handleForecastList lists each placed workload's sizing in a plan
// (?plan_id=, default the branch's newest plan).
func (s *Server) handleForecastList(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, http.StatusOK, pageOf(forecasts(d), p))
}

// handleForecastGet returns one workload's sizing.
func (s *Server) handleForecastGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.selectPlan(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "workload")
	for _, f := range forecasts(d) {
		if f.Workload == name {
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	s.writeError(w, r, meridian.Errorf(meridian.ENOTFOUND, "workload %q has no placement in plan %s", name, d.rec.ID))
}
