package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/dashboard"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store"
)

// ConfigLoader reads the config repo at a ref (controlplane.Loader does).
type ConfigLoader interface {
	Load(ctx context.Context, ref string) (*controlplane.Snapshot, error)
}

//go:embed templates/*.html
var templateFS embed.FS

// summaryCacheSize bounds the plan summaries kept: the branch head, the
// last applied plan and the few plans being looked at.
const summaryCacheSize = 16

// uiState is what the dashboard's pages share: parsed templates, the
// static assets and the summaries of recent plans.
type uiState struct {
	pages  map[string]*template.Template
	assets *assets
	plans  *dashboard.Cache[*dashboard.Summary]
	// forecasts holds workload forecast charts by plan and workload.
	forecasts *dashboard.Cache[forecastChart]
}

// initUI parses the embedded templates and assets once; routes() calls
// staticRoutes and uiRoutes, which both need them. A template that does not
// parse is a bug caught by every test, so it panics.
func (s *Server) initUI() *uiState {
	if s.ui != nil {
		return s.ui
	}
	a := loadAssets()
	funcs := template.FuncMap{
		"money": func(m meridian.Money) string { return m.String() },
		"date":  func(t time.Time) string { return fmtTime(t) },
		"short": shortSHA,
		"asset": a.path,
		"join":  strings.Join,
		"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f) },
		"sub":   func(a, b int) int { return a - b },
		"num":   func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"chart": func(id, title string, c dashboard.Chart) chartView {
			return chartView{Chart: c, ID: id, Title: title}
		},
		"sides": func(a, b costSide) []costSide { return []costSide{a, b} },
		"list":  func(xs ...int) []int { return xs },
	}
	pages := map[string]*template.Template{}
	files, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+f.Name()))
	}
	s.ui = &uiState{pages: pages, assets: a, plans: dashboard.NewCache[*dashboard.Summary](summaryCacheSize),
		forecasts: dashboard.NewCache[forecastChart](forecastCacheSize)}
	return s.ui
}

// uiRoutes mounts the dashboard's pages (see session.go for sign-in).
// Pages get the request timeout; the event stream lasts as long as its
// client, and an apply as long as the server, as in the API.
func (s *Server) uiRoutes(r chi.Router) {
	s.initUI()
	r.With(s.requirePage(RoleViewer)).Get("/events/stream", s.handleEvents)
	r.With(s.requirePage(RoleOperator), s.toLeader).Post("/plans/{planID}/apply", s.handleUIApply)
	r.Group(func(r chi.Router) {
		r.Use(middleware.Timeout(s.opts.RequestTimeout), s.requirePage(RoleViewer))
		r.Get("/", s.handleUIOverview)
		r.Get("/placements", s.handleUIPlacements)
		r.Get("/workloads/{name}", s.handleUIWorkload)
		r.Get("/targets/{name}", s.handleUITarget)
		r.Get("/drift", s.handleUIDrift)
		r.Get("/findings", s.handleUIFindings)
		r.Get("/plans", s.handleUIPlans)
		r.Get("/plans/{planID}", s.handleUIPlan)
		r.Get("/runs/{runID}", s.handleUIRun)
		r.Get("/locks", s.handleUILocks)
		r.Get("/sites", s.handleUISites)
		r.Get("/sites/{name}", s.handleUISite)
		r.With(s.requirePage(RoleOperator)).Post("/locks/release", s.handleUILockRelease)
	})
}

// requirePage is require for pages: the same role check, answered with an
// HTML error page.
func (s *Server) requirePage(need Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := principalFrom(r.Context())
			switch {
			case !ok:
				s.pageError(w, r, meridian.Errorf(meridian.EUNAUTHORIZED, "sign in first"))
			case !p.Role.Allows(need):
				s.pageError(w, r, meridian.Errorf(meridian.EFORBIDDEN, "%s has role %s; this needs %s", p.Name, p.Role, need))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// uiPage is what every template gets: the layout's fields and the page's own
// data in Data.
type uiPage struct {
	Title string
	// Nav is the navigation entry to mark current.
	Nav        string
	CSRF       string
	User       string
	Role       Role
	CanOperate bool
	RequestID  string
	Data       any
}

// render writes a page with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title, nav string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, title, nav, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, data any) {
	p := uiPage{Title: title, Nav: nav, CSRF: csrfToken(r), RequestID: middleware.GetReqID(r.Context()), Data: data}
	if pr, ok := principalFrom(r.Context()); ok {
		p.User, p.Role, p.CanOperate = pr.Name, pr.Role, pr.Role.Allows(RoleOperator)
	}
	// Rendered to a buffer first, so that a template error becomes an
	// error page rather than half a page.
	var b bytes.Buffer
	if err := s.ui.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		if name == "error" {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.pageError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// chartView is a chart with the id and title its SVG is labelled by.
type chartView struct {
	dashboard.Chart
	ID, Title string
}

// uiErrorData is the data of the error page.
type uiErrorData struct {
	Status  int
	Code    string
	Message string
}

// pageError answers a page request with an HTML error page, with the
// status and the message rules of writeError: internal errors and storage
// failures are logged and shown as a generic message, URLs lose their
// credentials, and client-supplied text is clipped where it is quoted.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := ErrorStatus(err), meridian.ErrorCode(err), err.Error()
	var unavailable *store.UnavailableError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		status, code, msg = http.StatusGatewayTimeout, meridian.ETIMEOUT, "the page took too long to build; retry, or narrow the filters"
	case status == http.StatusInternalServerError:
		logger(r.Context(), s.log).ErrorContext(r.Context(), "page failed", "err", err)
		code, msg = meridian.EINTERNAL, "internal error; the server log has the details (search for the request ID)"
	case errors.As(err, &unavailable):
		logger(r.Context(), s.log).ErrorContext(r.Context(), "store unavailable", "err", err)
		msg = "the store is unavailable (" + unavailable.Reason + "); retry later"
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	s.renderStatus(w, r, status, "error", http.StatusText(status), "", uiErrorData{Status: status, Code: code, Message: gitops.RedactText(msg)})
}

// wantsPage reports whether a request for an unknown route came from a
// browser, outside the API: it gets the HTML error page.
func wantsPage(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "text/html") {
			return true
		}
	}
	return false
}

// summary returns the aggregate of a plan of the watched repo, built once
// per plan ID. A summary built without the plan's config (the config repo
// could not be read, or the request ended) serves this request but is not
// kept, so that the next request builds the whole one.
func (s *Server) summary(ctx context.Context, id string) (*planDoc, *dashboard.Summary, error) {
	d, err := s.planByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	sum, err := s.ui.plans.Get(id, func() (*dashboard.Summary, error) {
		cfg, complete := s.configAt(ctx, d.rec.Commit)
		sum := dashboard.Build(d.plan, cfg)
		if !complete {
			return sum, errPartialConfig
		}
		return sum, nil
	})
	if errors.Is(err, errPartialConfig) && sum != nil {
		err = nil
	}
	return d, sum, err
}

// errPartialConfig marks a summary built without the plan's whole config.
var errPartialConfig = errors.New("the plan's config could not be read")

// configAt is the config a plan was made from, as far as it can be read:
// the whole config through Options.Configs, else the workloads' tags.
// complete is false when it could not be read as well as the server is
// set up to: a page then degrades (no providers, no target properties)
// rather than fail.
func (s *Server) configAt(ctx context.Context, commit string) (cfg *meridian.Config, complete bool) {
	if s.opts.Configs != nil && commit != "" {
		snap, err := s.opts.Configs.Load(ctx, commit)
		if err == nil && snap.Config != nil {
			return snap.Config, true
		}
		logger(ctx, s.log).WarnContext(ctx, "dashboard: read the config", "commit", shortSHA(commit), "err", err)
	}
	cfg = &meridian.Config{}
	tags, err := s.recon.WorkloadTags(ctx, commit)
	if err != nil {
		logger(ctx, s.log).WarnContext(ctx, "dashboard: read the workloads' tags", "commit", shortSHA(commit), "err", err)
		return cfg, false
	}
	for name, t := range tags {
		cfg.Workloads = append(cfg.Workloads, meridian.Workload{Name: name, Tags: t})
	}
	return cfg, s.opts.Configs == nil
}

// headPlan is the branch head's plan ID. Before the first plan it is an
// ENOTFOUND error, but only once this server has read the branch (or, as
// a follower, heard the leader's state): a replica that just started
// does not know yet, and says so with a 503 to retry, not a 404.
func (s *Server) headPlan() (string, error) {
	st := s.recon.State()
	if st.PlanID != "" {
		return st.PlanID, nil
	}
	if st.LastSync.IsZero() {
		return "", meridian.Errorf(meridian.EUNAVAILABLE, "this server has not read branch %s yet; retry", s.recon.Branch())
	}
	return "", meridian.Errorf(meridian.ENOTFOUND, "branch %s has not been planned yet", s.recon.Branch())
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago says how long ago t was, in the largest whole unit.
func (s *Server) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := s.now().Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
