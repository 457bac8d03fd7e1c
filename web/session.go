package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// This file is the contract between the dashboard's pages (ui_*.go) and
// browser sign-in: sessionRoutes and the login flow (login.go),
// browserAuth and csrfToken (here), checkCSRF (csrf.go) and htmlHeaders
// (csp.go). The pages only call them.

// SessionStore keeps browser sessions and one-time sign-in codes, by the
// SHA-256 of their secrets only. store/sqlite implements it; a server whose
// store does not keeps them in memory (see Options.Sessions).
type SessionStore interface {
	// CreateSession stores ss; ss.Hash is unique.
	CreateSession(ctx context.Context, ss store.Session) error
	// SessionByHash returns the session whose secret hashes to hash,
	// expired or not, or an ENOTFOUND error.
	SessionByHash(ctx context.Context, hash string) (store.Session, error)
	// TouchSession records the session's last use.
	TouchSession(ctx context.Context, hash string, at time.Time) error
	// DeleteSession deletes a session; a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// CreateLoginCode stores c; c.Hash is unique.
	CreateLoginCode(ctx context.Context, c store.LoginCode) error
	// ConsumeLoginCode deletes the code that hashes to hash and returns it
	// (expired or not). It is atomic: of concurrent calls for one code,
	// exactly one gets it and the others get ENOTFOUND.
	ConsumeLoginCode(ctx context.Context, hash string) (store.LoginCode, error)
}

// Session limits. A session ends at the first of: SessionIdle without a
// request, SessionLifetime after sign-in, its token's expiry, or its
// token's revocation.
const (
	DefaultSessionIdle     = 2 * time.Hour
	DefaultSessionLifetime = 12 * time.Hour
	// LoginCodeTTL is how long a one-time sign-in link works.
	LoginCodeTTL = 15 * time.Minute
)

// sessionCookie holds the session secret.
const sessionCookie = "meridian_session"

// sessionKey is the context key of the request's *browserSession.
const sessionKey ctxKey = 100

// browserSession is the signed-in session of a request.
type browserSession struct {
	store.Session
	// csrf is the session's CSRF token.
	csrf string
}

// newSessionSecret returns 256 random bits, URL-safe.
func newSessionSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// sessionCSRF derives a session's CSRF token from its secret: a page can
// embed it without exposing the cookie (the hash cannot be inverted), the
// store need not keep it, and it survives restarts like the session.
func sessionCSRF(secret string) string {
	sum := sha256.Sum256([]byte("meridian csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// initSessions sets up sign-in: the session store and the proxies whose
// X-Forwarded-Proto is believed.
func (s *Server) initSessions() {
	if s.opts.Sessions == nil {
		if ss, ok := s.st.(SessionStore); ok {
			s.opts.Sessions = ss
		} else {
			s.opts.Sessions = newMemSessionStore()
		}
	}
	if s.opts.SessionIdle <= 0 {
		s.opts.SessionIdle = DefaultSessionIdle
	}
	if s.opts.SessionLifetime <= 0 {
		s.opts.SessionLifetime = DefaultSessionLifetime
	}
	for _, c := range s.opts.TrustedProxies {
		if p, err := netip.ParsePrefix(c); err == nil {
			s.proxies = append(s.proxies, p.Masked())
		} else if a, err := netip.ParseAddr(c); err == nil {
			s.proxies = append(s.proxies, netip.PrefixFrom(a, a.BitLen()))
		}
	}
}

// overTLS reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so. Session cookies are then Secure.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	for _, p := range s.proxies {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// setSessionCookie sets an HttpOnly, SameSite=Strict cookie for the whole site;
// maxAge < 0 deletes it.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.overTLS(r), SameSite: http.SameSiteStrictMode})
}

// session resolves the request's session cookie. ok is false without a
// live session: no cookie, an unknown one, one past its idle timeout or
// lifetime, or one whose token was revoked or expired (those are deleted).
// err is the store's failure.
func (s *Server) session(r *http.Request) (*browserSession, store.Token, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, store.Token{}, false, nil
	}
	ctx := r.Context()
	hash := HashToken(c.Value)
	ss, err := s.opts.Sessions.SessionByHash(ctx, hash)
	if meridian.ErrorCode(err) == meridian.ENOTFOUND {
		return nil, store.Token{}, false, nil
	}
	if err != nil {
		logger(ctx, s.log).ErrorContext(ctx, "session lookup", "err", err)
		return nil, store.Token{}, false, meridian.Errorf(meridian.EUNAVAILABLE, "cannot check the session: the store is unavailable")
	}
	now := s.now()
	tok, reason, err := s.checkToken(ctx, ss.TokenHash)
	if err != nil {
		return nil, tok, false, err
	}
	if reason != "" || !now.Before(ss.ExpiresAt) || now.Sub(ss.LastSeenAt) >= s.opts.SessionIdle {
		if err := s.opts.Sessions.DeleteSession(ctx, hash); err != nil {
			logger(ctx, s.log).WarnContext(ctx, "delete ended session", "err", err)
		}
		return nil, tok, false, nil
	}
	// Record use at most once a minute, so that reads do not each write.
	if now.Sub(ss.LastSeenAt) >= time.Minute {
		if err := s.opts.Sessions.TouchSession(ctx, hash, now); err != nil {
			logger(ctx, s.log).WarnContext(ctx, "record session use", "err", err)
		}
	}
	return &browserSession{Session: ss, csrf: sessionCSRF(c.Value)}, tok, true, nil
}

// startSession creates a session for tok and sets its cookie. The session
// ends no later than the token does.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tok store.Token) error {
	secret, err := newSessionSecret()
	if err != nil {
		return err
	}
	now := s.now()
	end := now.Add(s.opts.SessionLifetime)
	if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(end) {
		end = tok.ExpiresAt
	}
	ss := store.Session{Hash: HashToken(secret), TokenID: tok.ID, TokenHash: tok.Hash, CreatedAt: now, LastSeenAt: now, ExpiresAt: end}
	if err := s.opts.Sessions.CreateSession(r.Context(), ss); err != nil {
		return err
	}
	// A session cookie (no Max-Age): the browser forgets it on exit, and
	// the server ends it by its own clock either way.
	s.setSessionCookie(w, r, sessionCookie, secret, 0)
	return nil
}

// browserAuth authenticates a browser request by its session cookie and
// puts the Principal into the request state, as authenticate does for a
// bearer token, so that principalFrom and require work unchanged. A
// request without a valid session is redirected to /login?next=PATH
// (GET) or refused with 401 (other methods).
func (s *Server) browserAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, tok, ok, err := s.session(r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if !ok {
			if _, err := r.Cookie(sessionCookie); err == nil {
				s.setSessionCookie(w, r, sessionCookie, "", -1)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			s.pageError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "sign in first"))
			return
		}
		r = withPrincipal(r, s.log, tok)
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, sess))
		next.ServeHTTP(w, r)
	})
}

// csrfToken is the CSRF token of the request's session; every form puts it
// in a hidden input named "csrf". Outside a session it is empty.
func csrfToken(r *http.Request) string {
	if sess, ok := r.Context().Value(sessionKey).(*browserSession); ok {
		return sess.csrf
	}
	return ""
}
