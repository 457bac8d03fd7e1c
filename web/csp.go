package web

import "net/http"

// contentSecurityPolicy allows the dashboard's own scripts, styles and
// images only: no inline script or style, no framing, and forms that post
// to this site alone. A page that needs more changes this one line.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// htmlHeaders sets the headers every HTML response carries (a
// Content-Security-Policy without inline script, X-Frame-Options,
// Referrer-Policy, ...), on pages, sign-in, redirects and errors alike.
// They are set before the handler runs, so every answer has them. No
// referrer ever leaves: a sign-in link's code must not reach another site.
func (s *Server) htmlHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHTMLHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setHTMLHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// Pages show a signed-in user's data: no shared cache keeps them.
	h.Set("Cache-Control", "no-store")
}
