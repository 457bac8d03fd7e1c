package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian/store"
)

func (s *Server) driftRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/drift", s.handleDriftList)
}

// driftView is one drift observation.
type driftView struct {
	ID         int64     `json:"id"`
	RunID      string    `json:"run_id"`
	Kind       string    `json:"kind"`
	Target     string    `json:"target,omitempty"`
	Workload   string    `json:"workload,omitempty"`
	Address    string    `json:"address,omitempty"`
	Action     string    `json:"action,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	ObservedAt time.Time `json:"observed_at"`
}

func viewDrift(o store.DriftObservation) driftView {
	return driftView{ID: o.ID, RunID: o.RunID, Kind: o.Kind, Target: o.Target, Workload: o.Workload,
		Address: o.Address, Action: o.Action, Detail: o.Detail, ObservedAt: o.ObservedAt}
}

// handleDriftList lists drift observations, newest first, optionally of
// one ?target= or ?run_id=.
func (s *Server) handleDriftList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	obs, err := s.st.ListDrift(r.Context(), store.DriftFilter{RepoID: s.recon.RepoID(), Target: q.Get("target"), RunID: q.Get("run_id"), Limit: p.limit()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(obs, p), viewDrift))
}
