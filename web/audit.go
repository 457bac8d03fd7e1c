package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian/store"
)

func (s *Server) auditRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/audit", s.handleAuditList)
}

// auditView is one entry of the append-only audit log.
type auditView struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	RepoID string    `json:"repo_id,omitempty"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	PlanID string    `json:"plan_id,omitempty"`
	RunID  string    `json:"run_id,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

func viewAudit(e store.AuditEvent) auditView {
	return auditView{ID: e.ID, At: e.At, RepoID: e.RepoID, Actor: e.Actor, Action: e.Action, Target: e.Target, PlanID: e.PlanID, RunID: e.RunID, Detail: e.Detail}
}

// handleAuditList lists the audit log, oldest first, filtered by ?action=,
// ?target= and ?repo_id=. It spans every repo by default: tokens are
// store-wide, and their events belong to no repo.
func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	es, err := s.st.ListAudit(r.Context(), store.AuditFilter{RepoID: q.Get("repo_id"), Action: q.Get("action"), Target: q.Get("target"), Limit: p.limit()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(es, p), viewAudit))
}
