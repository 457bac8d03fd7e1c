package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) driftRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/drift", s.handleDriftList)
}

// handleDriftList lists the repo's drift records: ?state=open (the
// default), cleared or all; filtered by ?engine=, ?target= and
// ?workload=. Open records come first, by engine, target, workload and
// resource; cleared ones follow, newest cleared first.
func (s *Server) handleDriftList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	state := store.DriftState(q.Get("state"))
	if !state.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "state must be open, cleared or all, got %q", clip(string(state))))
		return
	}
	engine := meridian.DriftEngine(q.Get("engine"))
	if engine != "" && !engine.Valid() {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "engine must be one of %v, got %q", meridian.DriftEngines(), clip(string(engine))))
		return
	}
	recs, err := s.st.ListDrift(r.Context(), store.DriftFilter{RepoID: s.recon.RepoID(), State: state, Engine: engine,
		Target: q.Get("target"), Workload: q.Get("workload"), Limit: p.limit()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(recs, p))
}
