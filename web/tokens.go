package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian/store"
)

func (s *Server) tokenRoutes(r chi.Router) {
	r.With(s.require(RoleAdmin)).Get("/tokens", s.handleTokenList)
	r.With(s.require(RoleAdmin)).Post("/tokens", s.handleTokenCreate)
	r.With(s.require(RoleAdmin)).Delete("/tokens/{tokenID}", s.handleTokenDelete)
}

// tokenView is a token without its secret (which is not stored).
type tokenView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

func viewToken(t store.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, Role: Role(t.Role), CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

// handleTokenList lists every token, oldest first.
func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ts, err := s.st.ListTokens(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mapList(pageOf(ts, p), viewToken))
}

type tokenCreateRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

type tokenCreated struct {
	tokenView
	// Token is the secret, shown only in this response.
	Token string `json:"token"`
}

// handleTokenCreate issues a token. The response is the only place its
// secret ever appears.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req tokenCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalFrom(r.Context())
	t, secret, err := IssueToken(r.Context(), s.st, req.Name, role, p.Actor(), s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "token.create", Detail: t.ID + " " + t.Name + " role " + t.Role})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenCreated{tokenView: viewToken(t), Token: secret})
}

// handleTokenDelete revokes a token. Its record stays, for the audit log.
func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id := chi.URLParam(r, "tokenID")
	if err := s.st.RevokeToken(r.Context(), id, s.now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "token.revoke", Detail: id})
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
}
