package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) runRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/runs", s.handleRunList)
	r.With(s.require(RoleViewer)).Get("/runs/{runID}", s.handleRunGet)
}

// runView is one plan, apply or drift run, or one target's part of it.
type runView struct {
	ID         string          `json:"id"`
	ParentID   string          `json:"parent_id,omitempty"`
	Kind       string          `json:"kind"`
	PlanID     string          `json:"plan_id,omitempty"`
	Target     string          `json:"target,omitempty"`
	Status     string          `json:"status"`
	Actor      string          `json:"actor"`
	Host       string          `json:"host,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
	Error      string          `json:"error,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	Output     string          `json:"output,omitempty"`
}

func viewRun(r store.Run) runView {
	v := runView{ID: r.ID, ParentID: r.ParentID, Kind: string(r.Kind), PlanID: r.PlanID, Target: r.Target,
		Status: string(r.Status), Actor: r.Owner.Actor, Host: r.Owner.Host, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: r.Error}
	if json.Valid(r.Detail) {
		v.Detail = r.Detail
	}
	return v
}

// handleRunList lists runs, newest first, filtered by ?kind=, ?plan_id=,
// ?target= and ?parent_id=. Outputs are left out; get one run for its
// output.
func (s *Server) handleRunList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	kind := store.RunKind(q.Get("kind"))
	switch kind {
	case "", store.RunPlan, store.RunApply, store.RunDrift, store.RunUnlock:
	default:
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "kind must be plan, apply, drift or unlock, got %q", kind))
		return
	}
	runs, err := s.st.ListRuns(r.Context(), store.RunFilter{RepoID: s.recon.RepoID(), Kind: kind, PlanID: q.Get("plan_id"),
		Target: q.Get("target"), ParentID: q.Get("parent_id"), Limit: p.limit()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(runs, p), viewRun))
}

// handleRunGet returns one run with its (redacted) output.
func (s *Server) handleRunGet(w http.ResponseWriter, r *http.Request) {
	run, err := s.st.GetRun(r.Context(), chi.URLParam(r, "runID"))
	if err == nil && run.RepoID != s.recon.RepoID() {
		err = store.NotFound("run", run.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := viewRun(run)
	v.Output = run.Output
	writeJSON(w, http.StatusOK, v)
}
