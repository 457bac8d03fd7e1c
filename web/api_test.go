package web_test

import (
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian/web"
)

// specRoutes reads docs/api.yaml: "METHOD /path" -> x-meridian-role.
func specRoutes(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			Role string `yaml:"x-meridian-role"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			if op.Role == "" {
				t.Errorf("docs/api.yaml: %s %s has no x-meridian-role", method, path)
			}
			out[strings.ToUpper(method)+" "+path] = op.Role
		}
	}
	return out
}

// dashboardRoutes reads docs/api.yaml's routes tagged dashboard: HTML for
// browsers signed in by a session cookie, not bearer tokens.
func dashboardRoutes(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for path, ops := range spec.Paths {
		for method, node := range ops {
			var op struct {
				Tags []string `yaml:"tags"`
			}
			if method == "parameters" || node.Decode(&op) != nil {
				continue
			}
			if slices.Contains(op.Tags, "dashboard") {
				out[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return out
}

// serverRoutes walks the router: every "METHOD /path" it serves.
func serverRoutes(t *testing.T, s *web.Server) []string {
	t.Helper()
	var out []string
	err := chi.Walk(s.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestRoutesMatchSpec fails when a route is added without documenting it
// in docs/api.yaml, or documented without being served.
func TestRoutesMatchSpec(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	spec := specRoutes(t)
	var documented []string
	for r := range spec {
		documented = append(documented, r)
	}
	sort.Strings(documented)
	if diff := cmp.Diff(documented, serverRoutes(t, h.srv)); diff != "" {
		t.Errorf("routes served (+) and documented in docs/api.yaml (-) differ:\n%s", diff)
	}
}

// TestRouteAuth checks every route against the role docs/api.yaml gives
// it: no credentials get 401, a weaker role gets 403, the documented role
// gets neither.
func TestRouteAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{AuthFailureBurst: 1 << 20}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	spec, dashboard := specRoutes(t), dashboardRoutes(t)
	for _, route := range serverRoutes(t, h.srv) {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{planID}", "p-x", "{runID}", "r-x", "{tokenID}", "tok-x", "{target}", "t-x", "{workload}", "w-x", "{site}", "edge-x").Replace(path)
		role := spec[route]
		if dashboard[route] {
			t.Run(route, func(t *testing.T) { checkDashboardAuth(t, h, method, path, role) })
			continue
		}
		t.Run(route, func(t *testing.T) {
			var body any
			if method == http.MethodPost || method == http.MethodPatch {
				body = map[string]any{}
			}
			switch role {
			case "public":
				if got := h.do(method, path, "", body, nil); got == http.StatusUnauthorized || got == http.StatusForbidden {
					t.Errorf("public route answered %d without credentials", got)
				}
				return
			case "webhook":
				if code, _ := h.webhook("ping", "d-auth", []byte(`{}`), "-"); code != http.StatusUnauthorized {
					t.Errorf("unsigned delivery got %d, want 401", code)
				}
				return
			case "site":
				// An edge site's credential only: API tokens open nothing.
				if got := h.do(method, path, "", body, nil); got != http.StatusUnauthorized {
					t.Errorf("no credential: got %d, want 401", got)
				}
				for _, r := range web.Roles {
					if got := h.do(method, path, r, body, nil); got < 400 {
						t.Errorf("API token of role %s: got %d, want a refusal", r, got)
					}
				}
				return
			}
			need, err := web.ParseRole(role)
			if err != nil {
				t.Fatalf("docs/api.yaml: %v", err)
			}
			if got := h.do(method, path, "", body, nil); got != http.StatusUnauthorized {
				t.Errorf("no token: got %d, want 401", got)
			}
			for _, r := range web.Roles {
				got := h.do(method, path, r, body, nil)
				switch {
				case !r.Allows(need) && got != http.StatusForbidden:
					t.Errorf("role %s (needs %s): got %d, want 403", r, need, got)
				case r.Allows(need) && (got == http.StatusForbidden || got == http.StatusUnauthorized):
					t.Errorf("role %s (needs %s): got %d", r, need, got)
				}
			}
		})
	}
}

// checkDashboardAuth checks a dashboard route without a session, which is
// what a bearer token is to it: a page (GET) sends the browser to sign in,
// anything else is refused. Public routes (sign-in, assets) are left to
// session_test.go; roles within a session to the pages' tests.
func checkDashboardAuth(t *testing.T, h *harness, method, path, role string) {
	t.Helper()
	if role == "public" {
		return
	}
	req, _ := http.NewRequest(method, h.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.tokens[web.RoleAdmin])
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch {
	case method == http.MethodGet && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=")):
		t.Errorf("GET with a bearer token but no session: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	case method != http.MethodGet && resp.StatusCode != http.StatusUnauthorized:
		t.Errorf("%s with a bearer token but no session: %d, want 401", method, resp.StatusCode)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	var body struct {
		Error struct {
			Code, Message, RequestID string
		} `json:"error"`
	}
	cases := map[string]struct {
		method, path string
		role         web.Role
		status       int
		code         string
	}{
		"NotFound":   {"GET", "/api/v1/plans/nope", web.RoleViewer, 404, "not_found"},
		"NoRoute":    {"GET", "/nope", "", 404, "not_found"},
		"BadPage":    {"GET", "/api/v1/plans?page_size=0", web.RoleViewer, 400, "invalid"},
		"BadToken":   {"GET", "/api/v1/plans?page_token=zzz", web.RoleViewer, 400, "invalid"},
		"Forbidden":  {"GET", "/api/v1/tokens", web.RoleOperator, 403, "forbidden"},
		"NotReadYet": {"GET", "/api/v1/placements", web.RoleViewer, 503, "unavailable"}, // no sync yet: retry, not "no plan"
		"BadGroupBy": {"GET", "/api/v1/costs?group_by=planet", web.RoleViewer, 400, "invalid"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body.Error.Code = ""
			if got := h.do(tc.method, tc.path, tc.role, nil, &body); got != tc.status || body.Error.Code != tc.code {
				t.Errorf("got %d %q, want %d %q (%s)", got, body.Error.Code, tc.status, tc.code, body.Error.Message)
			}
		})
	}
}
