package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian/controlplane"
)

func (s *Server) statusRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/status", s.handleStatusGet)
}

// statusView is the server's view of its config repo.
type statusView struct {
	Repo   string                   `json:"repo"`
	RepoID string                   `json:"repo_id"`
	Branch controlplane.BranchState `json:"branch"`
}

// handleStatusGet returns the watched branch's state: the head last
// planned, its plan, the last apply and the last error.
func (s *Server) handleStatusGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusView{Repo: s.recon.Source(), RepoID: s.recon.RepoID(), Branch: s.recon.State()})
}
