package web

import (
	"net/http"

	"github.com/meridianhq/meridian"
)

// checkCSRF refuses a state-changing request (POST, PUT, PATCH, DELETE)
// whose form field "csrf" does not carry csrfToken(r), or that a browser
// says came from another site. The form body is bounded (maxFormBytes)
// and parsed here, so handlers read r.PostForm.
func (s *Server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if why := crossSite(r); why != "" {
			s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "cross-site request refused (%s)", why))
			return
		}
		if err := readForm(w, r); err != nil {
			s.pageError(w, r, err)
			return
		}
		if !sameToken(r.PostFormValue("csrf"), csrfToken(r)) {
			s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "missing or wrong CSRF token: reload the page and try again"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
