package web

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func (s *Server) tokenRoutes(r chi.Router) {
	r.With(s.require(RoleAdmin)).Get("/tokens", s.handleTokenList)
	r.With(s.require(RoleAdmin)).Post("/tokens", s.handleTokenCreate)
	r.With(s.require(RoleAdmin)).Delete("/tokens/{tokenID}", s.handleTokenDelete)
}

// tokenView is a token without its secret (which is not stored).
type tokenView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is absent for tokens that never expire.
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

func viewToken(t store.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, Role: Role(t.Role), CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
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
	// ExpiresIn is the token's lifetime as a Go duration ("720h"); empty
	// means the token never expires.
	ExpiresIn string `json:"expires_in,omitempty"`
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
	var ttl time.Duration
	if req.ExpiresIn != "" {
		if ttl, err = time.ParseDuration(req.ExpiresIn); err != nil || ttl <= 0 {
			s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "expires_in must be a positive duration such as 720h, got %q", clip(req.ExpiresIn)))
			return
		}
	}
	p, _ := principalFrom(r.Context())
	t, secret, err := IssueToken(r.Context(), s.st, TokenRequest{Name: req.Name, Role: role, CreatedBy: p.Actor(), TTL: ttl}, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "token.create", Detail: TokenAuditDetail(t)})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenCreated{tokenView: viewToken(t), Token: secret})
}

// TokenAuditDetail is what the audit log says about a new token, here and
// in the CLI's token.create events.
func TokenAuditDetail(t store.Token) string {
	d := t.ID + " " + t.Name + " role " + t.Role
	if !t.ExpiresAt.IsZero() {
		d += " expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
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
