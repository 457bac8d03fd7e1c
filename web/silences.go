package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) silenceRoutes(r chi.Router) {
	r.With(s.require(RoleViewer)).Get("/silences", s.handleSilenceList)
	r.With(s.require(RoleOperator)).Post("/silences", s.handleSilenceCreate)
	r.With(s.require(RoleOperator)).Delete("/silences/{id}", s.handleSilenceExpire)
}

// handleSilenceList lists the repo's silences, newest first; ?active=true
// keeps those in force now.
func (s *Server) handleSilenceList(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := store.SilenceFilter{RepoID: s.recon.RepoID(), Limit: min(p.limit(), maxListed)}
	switch r.URL.Query().Get("active") {
	case "", "false":
	case "true":
		f.ActiveAt = s.now()
	default:
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "active must be true or false"))
		return
	}
	ss, err := s.opts.Silences.ListSilences(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageOf(ss, p))
}

type silenceCreateRequest struct {
	// Matchers maps name, workload, target, team or severity to a value.
	Matchers map[string]string `json:"matchers"`
	// Duration is a Go duration ("2h").
	Duration string `json:"duration"`
	Comment  string `json:"comment"`
}

// handleSilenceCreate creates a time-boxed silence, audited.
func (s *Server) handleSilenceCreate(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	var req silenceCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil {
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "duration must be a Go duration such as 2h, got %q", clip(req.Duration)))
		return
	}
	p, _ := principalFrom(r.Context())
	sil, err := controlplane.NewSilence(controlplane.SilenceRequest{RepoID: s.recon.RepoID(), Matchers: req.Matchers, Duration: d,
		Comment: req.Comment, CreatedBy: p.Actor(), Now: s.now()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sil, err = s.opts.Silences.CreateSilence(r.Context(), sil); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "silence.create",
		Detail: sil.ID + " " + controlplane.SilenceText(sil) + " until " + sil.EndsAt.UTC().Format(time.RFC3339) + ": " + clip(sil.Comment)})
	writeJSON(w, http.StatusCreated, sil)
}

// handleSilenceExpire ends a silence now, audited.
func (s *Server) handleSilenceExpire(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		s.writeError(w, r, errNoAlerting)
		return
	}
	id := chi.URLParam(r, "id")
	sil, err := s.opts.Silences.ExpireSilence(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalFrom(r.Context())
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "silence.expire", Detail: sil.ID + " " + controlplane.SilenceText(sil)})
	writeJSON(w, http.StatusOK, sil)
}
