package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
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
		secret, ok := s.bearerOrFail(w, r, ip)
		if !ok {
			return
		}
		tok, reason, err := s.checkToken(ctx, HashToken(secret))
		switch {
		case err != nil:
			s.writeError(w, r, err)
			return
		case reason != "":
			s.authFailed(w, r, ip, reason)
			return
		}
		r = withPrincipal(r, s.log, tok)
		s.touchToken(ctx, tok)
		next.ServeHTTP(w, r)
	})
}

// bearerOrFail returns the request's bearer credential, or answers it as
// a failed authentication from ip (authFailed) and returns false.
func (s *Server) bearerOrFail(w http.ResponseWriter, r *http.Request, ip string) (string, bool) {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		s.authFailed(w, r, ip, "missing or malformed bearer token")
	}
	return secret, ok
}

// checkToken looks up the token whose secret hashes to hash: one indexed
// read, shared by the API's bearer tokens and the browser's sessions. A
// token that does not authenticate (unknown, revoked, expired) yields the
// reason, for the audit log; err is only the store's failure, already
// logged and phrased for the client.
func (s *Server) checkToken(ctx context.Context, hash string) (tok store.Token, reason string, err error) {
	tok, err = s.st.TokenByHash(ctx, hash)
	switch {
	case meridian.ErrorCode(err) == meridian.ENOTFOUND:
		return tok, "unknown token", nil
	case err != nil:
		logger(ctx, s.log).ErrorContext(ctx, "token lookup", "err", err)
		return tok, "", meridian.Errorf(meridian.EUNAVAILABLE, "cannot check the token: the store is unavailable")
	case tok.Revoked():
		return tok, "revoked token " + tok.ID, nil
	case tok.Expired(s.now()):
		return tok, "expired token " + tok.ID, nil
	}
	return tok, "", nil
}

// withPrincipal records tok's principal in the request state, where
// principalFrom and require find it.
func withPrincipal(r *http.Request, log *slog.Logger, tok store.Token) *http.Request {
	p := &Principal{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role)}
	if st := stateFrom(r.Context()); st != nil {
		st.principal = p
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), requestKey, &requestState{log: log, principal: p}))
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
	if wait, limited := s.noteAuthFailure(r, ip, "token", requestFailure(r, reason)); limited {
		s.rateLimited(w, r, ip, wait)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="meridian"`)
	s.writeError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token> (%s)", reason))
}

// noteAuthFailure counts a failed authentication from ip against the
// failure limit and audits it (kind labels the metric, detail is the
// audit line), and reports whether ip is locked out, for how long: the
// caller then answers 429 (through rateLimited or its HTML twin), else
// 401. detail must never carry the credential.
func (s *Server) noteAuthFailure(r *http.Request, ip, kind, detail string) (time.Duration, bool) {
	if wait, limited := s.limiter.blocked(ip); limited {
		s.metrics.authFailures.WithLabelValues("rate_limited").Inc()
		if s.limiter.shouldAudit(ip) {
			s.audit(r.Context(), store.AuditEvent{Actor: "anonymous@" + clip(ip), Action: "auth.rate_limited",
				Detail: fmt.Sprintf("too many failed authentications; refusing requests for %s", wait.Round(time.Second))})
		}
		return wait, true
	}
	s.limiter.fail(ip)
	s.metrics.authFailures.WithLabelValues(kind).Inc()
	s.audit(r.Context(), store.AuditEvent{Actor: "anonymous@" + clip(ip), Action: "auth.failed", Detail: detail})
	return 0, false
}

// requestFailure is the audit line of a failed authentication: the method
// and path (never the query, where a sign-in code travels) and why.
func requestFailure(r *http.Request, reason string) string {
	return fmt.Sprintf("%s %s: %s", clip(r.Method), clip(r.URL.Path), reason)
}

// rateLimited answers a locked-out client (see noteAuthFailure) with 429.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, ip string, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	s.writeError(w, r, meridian.Errorf(ERATELIMITED, "too many failed authentications from %s; retry in %s", clip(ip), wait.Round(time.Second)))
}

// retryAfter is wait in whole seconds, rounded up, for Retry-After.
func retryAfter(wait time.Duration) string { return fmt.Sprint(int(wait.Seconds() + 0.999)) }

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
