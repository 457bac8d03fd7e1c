package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Role is what a token may do. Each role includes the ones before it.
type Role string

// Roles.
const (
	// RoleViewer reads everything except tokens.
	RoleViewer Role = "viewer"
	// RoleOperator also plans, applies, and force-unlocks its own locks.
	RoleOperator Role = "operator"
	// RoleAdmin may do everything, including unlocking anyone's locks and
	// managing tokens.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", meridian.Errorf(meridian.EINVALID, "role must be viewer, operator or admin, got %q", s)
}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Allows reports whether r includes need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() >= 0 }

// Principal is the authenticated caller of a request.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
}

// Actor is how the principal appears in runs, locks and the audit log.
func (p *Principal) Actor() string { return "api:" + p.Name }

// tokenPrefix marks Meridian tokens, so that secret scanners can find
// leaked ones.
const tokenPrefix = "mrd_"

// HashToken returns the hex SHA-256 of a token secret: what the store
// keeps. Tokens are 256 random bits, so a fast unsalted hash is enough:
// there is nothing to brute-force.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenRequest describes a token to issue.
type TokenRequest struct {
	// Name is unique among tokens that are not revoked: the audit log
	// names actors by it.
	Name string
	Role Role
	// CreatedBy is the actor issuing the token.
	CreatedBy string
	// TTL is the token's lifetime from its creation; zero means it never
	// expires (it works until revoked).
	TTL time.Duration
}

// maxTokenTTL bounds a token's lifetime, so that an expiry in the distant
// future cannot overflow the timestamps.
const maxTokenTTL = 100 * 365 * 24 * time.Hour

// IssueToken creates a token for req at time now, stores its hash, and
// returns the record and the secret. The secret exists only in the return
// value: print it once.
func IssueToken(ctx context.Context, st Tokens, req TokenRequest, now time.Time) (store.Token, string, error) {
	name, role := strings.TrimSpace(req.Name), req.Role
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n") {
		return store.Token{}, "", meridian.Errorf(meridian.EINVALID, "token name must be 1-64 characters without spaces, got %q", name)
	}
	if role.rank() < 0 {
		return store.Token{}, "", meridian.Errorf(meridian.EINVALID, "unknown role %q", role)
	}
	if req.TTL < 0 || req.TTL > maxTokenTTL {
		return store.Token{}, "", meridian.Errorf(meridian.EINVALID, "a token's lifetime must be positive and at most 100 years, got %s", req.TTL)
	}
	existing, err := st.ListTokens(ctx)
	if err != nil {
		return store.Token{}, "", err
	}
	for _, t := range existing {
		if t.Name == name && !t.Revoked() {
			return store.Token{}, "", meridian.Errorf(meridian.ECONFLICT, "a token named %q exists (id %s); revoke it first", name, t.ID)
		}
	}
	var raw [32]byte
	var id [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return store.Token{}, "", fmt.Errorf("token: %w", err)
	}
	if _, err := rand.Read(id[:]); err != nil {
		return store.Token{}, "", fmt.Errorf("token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := store.Token{ID: "tok_" + hex.EncodeToString(id[:]), Name: name, Role: string(role), Hash: HashToken(secret), CreatedBy: req.CreatedBy, CreatedAt: now.UTC()}
	if req.TTL > 0 {
		t.ExpiresAt = now.Add(req.TTL).UTC()
	}
	if err := st.CreateToken(ctx, t); err != nil {
		return store.Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

// bearer extracts the token from an Authorization header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate resolves the bearer token to a principal. The token is
// checked first (its hash lookup is one indexed read), so a valid token
// works even from a client IP that is locked out by others' failures, say
// behind a shared NAT. Failures get 401, are counted per client IP and
// written to the audit log; once the client has failed too often they get
// 429 instead, audited once per window. The token itself is never logged
// or stored.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ip := middleware.GetClientIP(ctx)
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.authFailed(w, r, ip, "missing or malformed bearer token")
			return
		}
		tok, err := s.st.TokenByHash(ctx, HashToken(secret))
		switch {
		case meridian.ErrorCode(err) == meridian.ENOTFOUND:
			s.authFailed(w, r, ip, "unknown token")
			return
		case err != nil:
			s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE, "cannot check the token: the store is unavailable"))
			logger(ctx, s.log).ErrorContext(ctx, "token lookup", "err", err)
			return
		case tok.Revoked():
			s.authFailed(w, r, ip, "revoked token "+tok.ID)
			return
		case tok.Expired(s.now()):
			s.authFailed(w, r, ip, "expired token "+tok.ID)
			return
		}
		if st := stateFrom(ctx); st != nil {
			st.principal = &Principal{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role)}
		} else {
			ctx = context.WithValue(ctx, requestKey, &requestState{log: s.log, principal: &Principal{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role)}})
			r = r.WithContext(ctx)
		}
		s.touchToken(ctx, tok)
		next.ServeHTTP(w, r)
	})
}

// touchToken records a token's use at most once a minute, so that reads
// do not turn into a write each.
func (s *Server) touchToken(ctx context.Context, t store.Token) {
	now := s.now()
	s.touchMu.Lock()
	last := s.touched[t.ID]
	if now.Sub(last) < time.Minute {
		s.touchMu.Unlock()
		return
	}
	s.touched[t.ID] = now
	s.touchMu.Unlock()
	if err := s.st.TouchToken(ctx, t.ID, now); err != nil {
		logger(ctx, s.log).WarnContext(ctx, "record token use", "token", t.ID, "err", err)
	}
}

// authFailed answers a request whose token failed: 401, or 429 while the
// client is locked out.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, ip, reason string) {
	ctx := r.Context()
	if wait, limited := s.limiter.blocked(ip); limited {
		s.rateLimited(w, r, ip, wait)
		return
	}
	s.limiter.fail(ip)
	s.metrics.authFailures.WithLabelValues("token").Inc()
	s.audit(ctx, store.AuditEvent{Actor: "anonymous@" + clip(ip), Action: "auth.failed",
		Detail: fmt.Sprintf("%s %s: %s", clip(r.Method), clip(r.URL.Path), reason)})
	w.Header().Set("WWW-Authenticate", `Bearer realm="meridian"`)
	s.writeError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token> (%s)", reason))
}

func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, ip string, wait time.Duration) {
	s.metrics.authFailures.WithLabelValues("rate_limited").Inc()
	if s.limiter.shouldAudit(ip) {
		s.audit(r.Context(), store.AuditEvent{Actor: "anonymous@" + clip(ip), Action: "auth.rate_limited",
			Detail: fmt.Sprintf("too many failed authentications; refusing requests for %s", wait.Round(time.Second))})
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
	s.writeError(w, r, meridian.Errorf(ERATELIMITED, "too many failed authentications from %s; retry in %s", clip(ip), wait.Round(time.Second)))
}

// require lets through principals whose role includes need.
func (s *Server) require(need Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := principalFrom(r.Context())
			if !ok {
				s.writeError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "authentication required"))
				return
			}
			if !p.Role.Allows(need) {
				s.writeError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "token %q has role %s; this needs %s", p.Name, p.Role, need))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
