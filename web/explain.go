package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// handlePlacementExplain returns the per-target detail of one workload in a
// plan (?plan_id=, default the branch's newest plan), which the plan
// document keeps grouped: every target with its verdict, cost, rules and
// reasons, only ?target= when given. The reconciler recomputes it from the
// config at the plan's commit; a plan it cannot be recomputed for is a
// 409.
func (s *Server) handlePlacementExplain(w http.ResponseWriter, r *http.Request) {
	d, err := s.selectPlan(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ex, err := s.recon.Explain(r.Context(), d.rec.ID, chi.URLParam(r, "workload"), r.URL.Query().Get("target"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}
