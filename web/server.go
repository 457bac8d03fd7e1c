package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

// Options tunes a Server. Zero values mean the defaults.
type Options struct {
	// WebhookSecret verifies GitHub deliveries. Empty turns the webhook
	// endpoint off: unsigned deliveries are never accepted.
	WebhookSecret []byte
	// MetricsAuth makes /metrics require a viewer token (default: public,
	// as Prometheus scrapers expect).
	MetricsAuth bool
	// TrustedProxies lists the CIDR prefixes of reverse proxies whose
	// X-Forwarded-For is believed. Empty: the TCP peer is the client, and
	// forwarding headers are ignored, so that nobody can dodge the
	// failed-authentication limit by inventing addresses.
	TrustedProxies []string
	// RequestTimeout bounds API requests other than applies (default 60s).
	RequestTimeout time.Duration
	// AuthFailureBurst failed authentications are allowed per client IP,
	// then one per AuthFailureEvery (defaults 10 and 6s).
	AuthFailureBurst int
	AuthFailureEvery time.Duration
	// Logger defaults to discarding. Metrics defaults to a new set; pass
	// the set on whose Registry the reconciler's controlplane.Metrics are
	// registered, or /metrics lacks the control loop's figures.
	Logger  *slog.Logger
	Metrics *Metrics
	// TracerProvider traces webhook deliveries and the work they start
	// (default: no tracing).
	TracerProvider trace.TracerProvider
	// Now is the clock (default time.Now).
	Now func() time.Time
	// History serves the event feed, the finding lifecycle and the cost
	// history (default: the Store, when it keeps history; see
	// HistoryStore). Events tunes the feed and its retention.
	History HistoryStore
	Events  FeedOptions
	// Alerts, AlertTester and Silences serve /api/v1/alerts and
	// /api/v1/silences (alerting.Dispatcher, controlplane.AlertingLoader
	// and the store). Without them those routes answer 503.
	Alerts      Alerts
	AlertTester AlertTester
	Silences    Silences
	// Configs reads the config repo at a commit, for the dashboard's
	// providers, jurisdictions and target properties (cmd/meridian passes
	// the reconciler's loader). Without it the dashboard knows only the
	// workloads' tags.
	Configs ConfigLoader
	// Sessions keeps browser sessions and sign-in codes (default: the
	// Store, when it keeps them; else memory, lost on restart).
	// SessionIdle and SessionLifetime end sessions (defaults
	// DefaultSessionIdle and DefaultSessionLifetime).
	Sessions                     SessionStore
	SessionIdle, SessionLifetime time.Duration
	// Leader and Queue are for replicas sharing a store (replicas.go):
	// whether this one leads (nil: always), and the queue that holds
	// webhook deliveries for the leader (nil: a delivery is processed by
	// the replica that received it, in the background).
	Leader Leadership
	Queue  DeliveryQueue
	// Peers are the leader URLs a follower forwards to, with the client's
	// credentials (replicas_peers.go; nil: none, every forward is refused).
	Peers *PeerURLs
	// Edge serves OPA bundles and takes status reports under /edge/v1,
	// and lists the sites under /api/v1/sites (docs/edge.md). Nil: those
	// routes answer 404.
	Edge Edge
}

// Server is the HTTP face of the control plane.
type Server struct {
	st      Store
	recon   *controlplane.Reconciler
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	limiter *failureLimiter
	now     func() time.Time
	router  chi.Router

	touchMu sync.Mutex
	touched map[string]time.Time

	// webhookReads holds a slot per webhook body being read.
	webhookReads chan struct{}

	// feed serves /api/v1/events; nil without a history store.
	feed *EventFeed

	// ui holds the dashboard's templates, assets and plan summaries.
	ui *uiState

	// proxies are Options.TrustedProxies, parsed: their X-Forwarded-Proto
	// makes session cookies Secure.
	proxies []netip.Prefix

	// readyMu serializes /readyz's store probe; readyAt and readyErr are
	// its last result (see storeReady).
	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error

	// queueWake wakes RunDeliveries when this replica queued a delivery;
	// proxy forwards the leader's requests to it (replicas.go).
	queueWake chan struct{}
	proxy     *httputil.ReverseProxy
	// refused are the leader URLs refused and logged once (replicas.go).
	refused refusedPeers
}

// NewServer returns a server for recon's config repo. Handlers read st;
// everything that plans, applies or checks drift goes through recon.
func NewServer(st Store, recon *controlplane.Reconciler, opts Options) *Server {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.AuthFailureBurst <= 0 {
		opts.AuthFailureBurst = 10
	}
	if opts.AuthFailureEvery <= 0 {
		opts.AuthFailureEvery = 6 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		st: st, recon: recon, opts: opts, log: opts.Logger, metrics: opts.Metrics, now: opts.Now,
		limiter: newFailureLimiter(opts.AuthFailureEvery, opts.AuthFailureBurst, opts.Now),
		touched: map[string]time.Time{}, webhookReads: make(chan struct{}, maxWebhookReads),
		queueWake: make(chan struct{}, 1),
	}
	s.proxy = s.newLeaderProxy()
	s.initHistory()
	s.initSessions()
	s.router = s.routes()
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Router exposes the routes, for chi.Walk in tests and docs checks.
func (s *Server) Router() chi.Routes { return s.router }

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(requestID)
	if len(s.opts.TrustedProxies) > 0 {
		r.Use(middleware.ClientIPFromXFF(s.opts.TrustedProxies...))
	} else {
		r.Use(middleware.ClientIPFromRemoteAddr)
	}
	r.Use(s.logRequests)
	r.Use(s.recoverer)
	r.Use(s.preflight)
	// The path and method are the client's: echoed clipped, never whole.
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		// Paths outside the API may be a browser's: they get the pages' headers.
		err := meridian.Errorf(meridian.ENOTFOUND, "no route %s %s", clip(r.Method), clip(r.URL.Path))
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			setHTMLHeaders(w.Header())
			// A browser gets the dashboard's error page.
			if wantsPage(r) {
				s.pageError(w, r, err)
				return
			}
		}
		s.writeError(w, r, err)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed",
			Message: fmt.Sprintf("%s is not allowed on %s", clip(r.Method), clip(r.URL.Path)), RequestID: middleware.GetReqID(r.Context())}})
	})

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	metrics := promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
	if s.opts.MetricsAuth {
		r.With(s.authenticate, s.require(RoleViewer)).Method(http.MethodGet, "/metrics", metrics)
	} else {
		r.Method(http.MethodGet, "/metrics", metrics)
	}
	r.Post("/webhooks/github", s.handleWebhookGitHub)
	// OPA agents at the edge sites, with their site credentials. Long
	// polls outlast the API's request timeout by design.
	r.Route("/edge/v1", s.edgeRoutes)

	// The dashboard: HTML for browsers, signed in by a session cookie.
	r.Group(func(r chi.Router) {
		r.Use(s.htmlHeaders)
		s.staticRoutes(r)
		s.sessionRoutes(r)
		r.Group(func(r chi.Router) {
			// uiRoutes sets the request timeout itself: the event stream
			// and applies are not cut off by it, as in the API.
			r.Use(s.browserAuth, s.checkCSRF)
			s.uiRoutes(r)
		})
	})

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		// Applies are not cut off by the request timeout: they stop only
		// when the server does.
		r.With(s.require(RoleOperator), s.toLeader).Post("/plans/{planID}/apply", s.handlePlanApply)
		// An event stream lasts as long as its client; the feed bounds
		// its JSON form itself.
		r.With(s.require(RoleViewer)).Get("/events", s.handleEvents)
		r.Group(func(r chi.Router) {
			r.Use(middleware.Timeout(s.opts.RequestTimeout))
			s.statusRoutes(r)
			s.planRoutes(r)
			s.placementRoutes(r)
			s.findingRoutes(r)
			s.costRoutes(r)
			s.forecastRoutes(r)
			s.driftRoutes(r)
			s.lockRoutes(r)
			s.runRoutes(r)
			s.auditRoutes(r)
			s.tokenRoutes(r)
			s.alertRoutes(r)
			r.With(s.require(RoleViewer)).Get("/sites", s.handleSites)
		})
	})
	return r
}

// preflightMethods are the methods an OPTIONS answer may list.
var preflightMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// preflight answers OPTIONS for every route, before authentication, so
// that a browser's CORS preflight never counts as a failed authentication.
// The server does not do CORS (the API is for tokens, not for pages on
// other origins): the answer is 204 with Allow and no Access-Control-*
// header, so browsers refuse cross-origin calls as they should.
func (s *Server) preflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		allow := []string{http.MethodOptions}
		for _, m := range preflightMethods {
			if s.router.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
		}
		if len(allow) == 1 {
			s.writeError(w, r, meridian.Errorf(meridian.ENOTFOUND, "no route %s", clip(r.URL.Path)))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		w.WriteHeader(http.StatusNoContent)
	})
}

// recoverer turns a panic into a logged 500, keeping the server up.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger(r.Context(), s.log).ErrorContext(r.Context(), "panic serving request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// audit appends an audit event for this repo, logging (not failing) when
// the store refuses.
func (s *Server) audit(ctx context.Context, e store.AuditEvent) {
	e.RepoID = s.recon.RepoID()
	if err := s.st.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "append audit event", "action", e.Action, "err", err)
	}
}
