package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// This file is the contract between the dashboard's pages (ui_*.go) and
// browser sign-in (session_*.go, login codes, CSRF, CSP). The stubs below
// are filled in by the sign-in work; the pages only call them.

// sessionRoutes mounts /login and /logout (and whatever sign-in needs).
// They sit outside browserAuth.
func (s *Server) sessionRoutes(r chi.Router) {}

// browserAuth authenticates a browser request by its session cookie and
// puts the Principal into the request state, as authenticate does for a
// bearer token, so that principalFrom and require work unchanged. A
// request without a valid session is redirected to /login?next=PATH
// (GET) or refused with 401 (other methods).
func (s *Server) browserAuth(next http.Handler) http.Handler { return next }

// checkCSRF refuses a state-changing request (POST, PUT, PATCH, DELETE)
// whose form field "csrf" does not carry csrfToken(r).
func (s *Server) checkCSRF(next http.Handler) http.Handler { return next }

// csrfToken is the CSRF token of the request's session; every form puts it
// in a hidden input named "csrf".
func csrfToken(r *http.Request) string { return "" }

// htmlHeaders sets the headers every HTML response carries (a
// Content-Security-Policy without inline script, X-Frame-Options,
// Referrer-Policy, ...), on pages, sign-in, redirects and errors alike.
func (s *Server) htmlHeaders(next http.Handler) http.Handler { return next }
