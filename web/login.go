package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// Browser sign-in: the API tokens sign a browser in through a form, or a
// one-time sign-in code (a link printed by `meridian demo` and
// `meridian token create --login-link`) does, once. Either way the browser
// gets a session cookie, never the token.

const (
	// loginCSRFCookie carries the sign-in form's CSRF secret before there
	// is a session (double submit: the form holds its hash).
	loginCSRFCookie = "meridian_login_csrf"
	// maxFormBytes bounds a form body: sign-in and the pages' forms are a
	// few fields.
	maxFormBytes = 16 << 10
	// maxCredential bounds a token or sign-in code read from a request:
	// real ones are under 64 characters.
	maxCredential = 256
	// loginCodePrefix marks sign-in codes apart from API tokens (mrd_).
	loginCodePrefix = "mlc_"
)

// sessionRoutes mounts /login and /logout. They sit outside browserAuth.
func (s *Server) sessionRoutes(r chi.Router) {
	r.Get("/login", s.handleLoginPage)
	r.Post("/login", s.handleLogin)
	r.Post("/logout", s.handleLogout)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Meridian</title>
<link rel="stylesheet" href="{{.CSS}}">
</head>
<body class="login">
<main id="content">
<h1>Sign in to Meridian</h1>
{{if .Error}}<p class="error" role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" maxlength="256" required autofocus>
<button type="submit" id="sign-in">Sign in</button>
</form>
<p>An admin creates tokens with <code>meridian token create --role viewer --name NAME</code>.
The token stays in this form: the browser keeps only a session cookie.</p>
</main>
</body>
</html>
`))

func (s *Server) renderHTML(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		s.log.Warn("render page", "page", t.Name(), "err", err)
	}
}

// safeNext returns p if it is a path on this site, else "/": a sign-in
// never redirects elsewhere (no "//host", "/\host", scheme or control
// characters, which browsers read as another origin).
func safeNext(p string) string {
	if p == "" || len(p) > 2048 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return p
}

// crossSite reports why a state-changing browser request did not come
// from our own pages: a Sec-Fetch-Site other than same-origin (or none: a
// typed URL), or an Origin of another host. Browsers that send neither
// are left to the CSRF token. Origin "null" is what browsers send for our
// own forms, as the pages' Referrer-Policy is no-referrer: it proves
// nothing either way.
func crossSite(r *http.Request) string {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return "Sec-Fetch-Site is " + clip(sfs)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return "Origin " + clip(o) + " is not this site"
		}
	}
	return ""
}

// readForm parses a bounded url-encoded form body.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return meridian.Errorf(ETOOLARGE, "the form is over %d bytes", maxFormBytes)
		}
		return meridian.Errorf(meridian.EINVALID, "cannot read the form")
	}
	return nil
}

// sameToken compares secrets in constant time; empty never matches.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

type loginData struct{ CSS, CSRF, Next, Error string }

// loginForm renders the sign-in form with a fresh pre-session CSRF cookie.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	secret, err := newSessionSecret()
	if err != nil {
		s.pageError(w, r, fmt.Errorf("sign-in form: %w", err))
		return
	}
	s.setSessionCookie(w, r, loginCSRFCookie, secret, int((30 * time.Minute).Seconds()))
	s.renderHTML(w, status, loginPage, loginData{CSS: s.initUI().assets.path("app.css"), CSRF: sessionCSRF(secret), Next: safeNext(next), Error: msg})
}

// handleLoginPage shows the sign-in form, or with ?token=CODE signs in by
// a one-time sign-in code and goes to the overview.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if code := r.URL.Query().Get("token"); code != "" {
		s.loginByCode(w, r, code)
		return
	}
	if _, _, ok, err := s.session(r); err == nil && ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.loginForm(w, r, http.StatusOK, next, "")
}

// handleLogin checks a token from the sign-in form exactly as the API
// checks a bearer token (same lookup, failure limit and audit) and starts
// a session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if why := crossSite(r); why != "" {
		s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "cross-site sign-in refused (%s)", why))
		return
	}
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || len(c.Value) > maxCredential || !sameToken(r.PostFormValue("csrf"), sessionCSRF(c.Value)) {
		s.loginForm(w, r, http.StatusForbidden, next, "The sign-in form expired or was not sent from this site; try again.")
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	reason := "missing token"
	var tok store.Token
	if secret != "" && len(secret) <= maxCredential {
		if tok, reason, err = s.checkToken(r.Context(), HashToken(secret)); err != nil {
			s.pageError(w, r, err)
			return
		}
	} else if secret != "" {
		reason = "oversized token"
	}
	if reason != "" {
		s.loginFailed(w, r, next, reason)
		return
	}
	s.signIn(w, r, tok, "form", next)
}

// loginByCode signs in by a one-time sign-in code. The code is used up
// whether or not it works, and never appears in logs or the audit log.
func (s *Server) loginByCode(w http.ResponseWriter, r *http.Request, code string) {
	ctx := r.Context()
	reason := "unknown or used sign-in code"
	var tok store.Token
	if len(code) <= maxCredential {
		lc, err := s.opts.Sessions.ConsumeLoginCode(ctx, HashToken(code))
		switch {
		case meridian.ErrorCode(err) == meridian.ENOTFOUND:
		case err != nil:
			logger(ctx, s.log).ErrorContext(ctx, "sign-in code lookup", "err", err)
			s.pageError(w, r, meridian.Errorf(meridian.EUNAVAILABLE, "cannot check the sign-in code: the store is unavailable"))
			return
		case !s.now().Before(lc.ExpiresAt):
			reason = "expired sign-in code for token " + lc.TokenID
		default:
			if tok, reason, err = s.checkToken(ctx, lc.TokenHash); err != nil {
				s.pageError(w, r, err)
				return
			}
			if reason != "" {
				reason = "sign-in code for " + reason
			}
		}
	}
	if reason != "" {
		s.loginFailed(w, r, "/", reason)
		return
	}
	s.signIn(w, r, tok, "one-time code", "/")
}

// loginFailed counts and audits a failed sign-in like a failed bearer
// token, and shows the form again: 401, or 429 while the client is locked
// out.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, next, reason string) {
	ip := middleware.GetClientIP(r.Context())
	if wait, limited := s.noteAuthFailure(r, ip, "session", requestFailure(r, reason)); limited {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.loginForm(w, r, http.StatusTooManyRequests, next, fmt.Sprintf("Too many failed sign-ins from %s; retry in %s.", clip(ip), wait.Round(time.Second)))
		return
	}
	s.loginForm(w, r, http.StatusUnauthorized, next, "Sign-in failed: the token or link is unknown, used, revoked or expired.")
}

// signIn starts a session for tok, audits it and goes to next.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, tok store.Token, how, next string) {
	if err := s.startSession(w, r, tok); err != nil {
		s.pageError(w, r, fmt.Errorf("start session: %w", err))
		return
	}
	s.setSessionCookie(w, r, loginCSRFCookie, "", -1)
	p := &Principal{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role)}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "session.start",
		Detail: fmt.Sprintf("browser signed in by %s as token %s (%s) from %s", how, tok.ID, tok.Role, clip(middleware.GetClientIP(r.Context())))})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout ends the session (CSRF-checked) and clears its cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if why := crossSite(r); why != "" {
		s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "cross-site sign-out refused (%s)", why))
		return
	}
	if err := readForm(w, r); err != nil {
		s.pageError(w, r, err)
		return
	}
	sess, tok, ok, err := s.session(r)
	switch {
	case err != nil:
		s.pageError(w, r, err)
		return
	case !ok:
		s.setSessionCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	case !sameToken(r.PostFormValue("csrf"), sess.csrf):
		s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "missing or wrong CSRF token: reload the page and try again"))
		return
	}
	if err := s.opts.Sessions.DeleteSession(r.Context(), sess.Hash); err != nil {
		s.pageError(w, r, fmt.Errorf("end session: %w", err))
		return
	}
	s.setSessionCookie(w, r, sessionCookie, "", -1)
	p := &Principal{TokenID: tok.ID, Name: tok.Name, Role: Role(tok.Role)}
	s.audit(r.Context(), store.AuditEvent{Actor: p.Actor(), Action: "session.end", Detail: "browser signed out (token " + tok.ID + ")"})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// IssueLoginCode creates a one-time sign-in code for tok, valid for
// LoginCodeTTL from now, and stores its hash. The code exists only in the
// return value: print it once, inside a link (see LoginLink).
func IssueLoginCode(ctx context.Context, st SessionStore, tok store.Token, now time.Time) (string, error) {
	if tok.Revoked() || tok.Expired(now) {
		return "", meridian.Errorf(meridian.EINVALID, "token %s is revoked or expired", tok.ID)
	}
	secret, err := newSessionSecret()
	if err != nil {
		return "", fmt.Errorf("sign-in code: %w", err)
	}
	code := loginCodePrefix + secret
	end := now.Add(LoginCodeTTL)
	if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(end) {
		end = tok.ExpiresAt
	}
	if err := st.CreateLoginCode(ctx, store.LoginCode{Hash: HashToken(code), TokenID: tok.ID, TokenHash: tok.Hash,
		CreatedAt: now.UTC(), ExpiresAt: end.UTC()}); err != nil {
		return "", fmt.Errorf("sign-in code: %w", err)
	}
	return code, nil
}

// LoginLink is the sign-in link of code on the server at base (a URL such
// as http://127.0.0.1:8080).
func LoginLink(base, code string) (string, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", meridian.Errorf(meridian.EINVALID, "the server URL must be http(s)://HOST[:PORT], got %q", base)
	}
	return u.String() + "/login?token=" + url.QueryEscape(code), nil
}
