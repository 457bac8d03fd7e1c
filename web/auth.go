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

// IssueToken creates a token named name with role, stores its hash, and
// returns the record and the secret. The secret exists only in the return
// value: print it once. Names are unique among tokens that are not revoked,
// because the audit log names actors by token name.
func IssueToken(ctx context.Context, st Tokens, name string, role Role, createdBy string, now time.Time) (store.Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n") {
		return store.Token{}, "", meridian.Errorf(meridian.EINVALID, "token name must be 1-64 characters without spaces, got %q", name)
	}
	if role.rank() < 0 {
		return store.Token{}, "", meridian.Errorf(meridian.EINVALID, "unknown role %q", role)
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
	t := store.Token{ID: "tok_" + hex.EncodeToString(id[:]), Name: name, Role: string(role), Hash: HashToken(secret), CreatedBy: createdBy, CreatedAt: now.UTC()}
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

// authenticate resolves the bearer token to a principal. Failures get 401
// (429 once a client has failed too often), are counted per client IP and
// written to the audit log; the token itself is never logged or stored.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ip := middleware.GetClientIP(ctx)
		if wait, limited := s.limiter.blocked(ip); limited {
			s.rateLimited(w, r, ip, wait)
			return
		}
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
			s.writeError(w, r, meridian.Errorf(EUNAVAILABLE, "cannot check the token: the store is unavailable"))
			logger(ctx, s.log).ErrorContext(ctx, "token lookup", "err", err)
			return
		case tok.Revoked():
			s.authFailed(w, r, ip, "revoked token "+tok.ID)
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

func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, ip, reason string) {
	ctx := r.Context()
	s.limiter.fail(ip)
	s.metrics.authFailures.WithLabelValues("token").Inc()
	s.audit(ctx, store.AuditEvent{Actor: "anonymous@" + ip, Action: "auth.failed",
		Detail: fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, reason)})
	w.Header().Set("WWW-Authenticate", `Bearer realm="meridian"`)
	s.writeError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token> (%s)", reason))
}

func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, ip string, wait time.Duration) {
	s.metrics.authFailures.WithLabelValues("rate_limited").Inc()
	if s.limiter.shouldAudit(ip) {
		s.audit(r.Context(), store.AuditEvent{Actor: "anonymous@" + ip, Action: "auth.rate_limited",
			Detail: fmt.Sprintf("too many failed authentications; refusing requests for %s", wait.Round(time.Second))})
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
	s.writeError(w, r, meridian.Errorf(ERATELIMITED, "too many failed authentications from %s; retry in %s", ip, wait.Round(time.Second)))
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
