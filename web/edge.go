package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
)

// Edge is the OPA bundle server behind /edge/v1 and GET /api/v1/sites
// (edge.Service).
type Edge interface {
	Authenticate(ctx context.Context, secret string) (site, reason string, err error)
	Bundle(ctx context.Context, site string, etags []string, wait time.Duration) (*edge.Bundle, bool, error)
	Report(ctx context.Context, site string, body []byte) error
	Overview(ctx context.Context, health string) (*edge.Overview, error)
	MaxWait() time.Duration
}

// bundleContentType tells OPA that the server long-polls: without it, the
// agent falls back to periodic polling.
const bundleContentType = "application/vnd.openpolicyagent.bundles"

type siteKey struct{}

// siteAuth is the admitted site and the credential that admitted it.
type siteAuth struct{ site, secret string }

// edgeRoutes mounts OPA's bundle service API and status API (docs/edge.md).
func (s *Server) edgeRoutes(r chi.Router) {
	// Inline, so that the route's {site} is known when the credential is
	// checked against it.
	r.With(s.edgeAuth).Get("/bundles/{site}", s.handleEdgeBundle)
	r.With(s.edgeAuth).Post("/status/{site}", s.handleEdgeStatus)
}

// edgeAuth admits a site's OPA agent by its credential, for its own site
// only. Failures are counted and audited as the API's are (authFailed).
func (s *Server) edgeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ip := middleware.GetClientIP(ctx)
		secret, ok := s.bearerOrFail(w, r, ip)
		if !ok {
			return
		}
		if s.opts.Edge == nil {
			s.writeError(w, r, meridian.Errorf(meridian.ENOTFOUND, "this server does not serve edge bundles"))
			return
		}
		site, ok := s.edgeAdmit(w, r, secret)
		if !ok {
			return
		}
		if want := chi.URLParam(r, "site"); want != site {
			s.writeError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "this credential is site %s's, not %s's", site, clip(want)))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, siteKey{}, siteAuth{site: site, secret: secret})))
	})
}

// edgeAdmit returns the site whose credential secret is, or answers the
// request (401, or 503 when the store cannot tell) and returns false.
func (s *Server) edgeAdmit(w http.ResponseWriter, r *http.Request, secret string) (string, bool) {
	ctx := r.Context()
	site, reason, err := s.opts.Edge.Authenticate(ctx, secret)
	switch {
	case err != nil:
		logger(ctx, s.log).ErrorContext(ctx, "edge credential lookup", "err", err)
		s.writeError(w, r, meridian.Errorf(meridian.EUNAVAILABLE, "cannot check the credential: the store is unavailable"))
		return "", false
	case reason != "":
		s.authFailed(w, r, middleware.GetClientIP(ctx), reason)
		return "", false
	}
	return site, true
}

// handleEdgeBundle serves a site's signed bundle: 304 when the agent's
// If-None-Match holds its ETag, and with Prefer: wait=N, a long poll
// answered as soon as a new revision is built (or 304 when the wait ends).
func (s *Server) handleEdgeBundle(w http.ResponseWriter, r *http.Request) {
	auth, _ := r.Context().Value(siteKey{}).(siteAuth)
	site := auth.site
	wait := preferWait(r.Header.Get("Prefer"), s.opts.Edge.MaxWait())
	if wait > 0 {
		// The server's write timeout is for ordinary requests.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 30*time.Second))
	}
	b, modified, err := s.opts.Edge.Bundle(r.Context(), site, ifNoneMatch(r.Header.Get("If-None-Match")), wait)
	if err != nil {
		if r.Context().Err() != nil {
			return // the agent went away
		}
		s.writeError(w, r, err)
		return
	}
	if modified && wait > 0 {
		// The credential may have been revoked while the poll waited:
		// a new revision goes only to a site still admitted.
		if _, ok := s.edgeAdmit(w, r, auth.secret); !ok {
			return
		}
	}
	h := w.Header()
	h.Set("ETag", b.ETag)
	h.Set("Content-Type", bundleContentType)
	h.Set("Cache-Control", "no-cache")
	if !modified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(b.Body)))
	_, _ = w.Write(b.Body)
}

// handleEdgeStatus takes a site's OPA status report.
func (s *Server) handleEdgeStatus(w http.ResponseWriter, r *http.Request) {
	site := r.Context().Value(siteKey{}).(siteAuth).site
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, edge.MaxStatusBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.writeError(w, r, meridian.Errorf(ETOOLARGE, "a status report is at most %d bytes", edge.MaxStatusBytes))
		return
	case err != nil:
		s.writeError(w, r, meridian.Errorf(meridian.EINVALID, "status report: %v", err))
		return
	}
	if err := s.opts.Edge.Report(r.Context(), site, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleSites lists the edge sites against the branch head.
func (s *Server) handleSites(w http.ResponseWriter, r *http.Request) {
	if s.opts.Edge == nil {
		s.writeError(w, r, meridian.Errorf(meridian.ENOTFOUND, "this server does not serve edge bundles"))
		return
	}
	health := r.URL.Query().Get("health")
	if err := edge.ValidHealth(health); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.opts.Edge.Overview(r.Context(), health)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// preferWait reads wait=N (seconds) from a Prefer header as OPA sends it
// ("modes=snapshot,delta;wait=30"), capped at max. Zero: no long poll.
func preferWait(prefer string, max time.Duration) time.Duration {
	for _, part := range strings.FieldsFunc(prefer, func(r rune) bool { return r == ';' || r == ',' }) {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "wait") {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
		if err != nil || n <= 0 {
			return 0
		}
		return min(time.Duration(min(n, 1<<20))*time.Second, max)
	}
	return 0
}

// ifNoneMatch splits an If-None-Match header into its entity tags (weak
// ones compared as strong: bundles have no weak tags).
func ifNoneMatch(h string) []string {
	var out []string
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t != "" && len(out) < 16 {
			out = append(out, t)
		}
	}
	return out
}
