package web_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

var updateUI = flag.Bool("update", false, "rewrite the golden files in testdata/")

// uiFixture is a server whose branch head is planned and applied, with
// drift, findings, cost history and a lock, and a signed-in browser per
// role.
type uiFixture struct {
	*harness
	// srvHistory is the server's history store.
	srvHistory *sqlite.DB
	planID     string
	browsers   map[web.Role]*browser
}

func newUIFixture(t *testing.T) *uiFixture {
	t.Helper()
	db := controlplanetest.OpenSQLite(t)
	configs := &loaderRef{}
	h := newHarness(t, harnessOptions{server: web.Options{History: db, Configs: configs}})
	configs.l = h.Loader
	t.Cleanup(h.srv.EventFeed().Close)
	cfg := config(nil, workload("api", "alice", 2), workload("web", "", 1), workload("batch", "bob", 3))
	cfg.Targets[0].Jurisdiction, cfg.Targets[0].Region = "us", "us-east-1"
	cfg.Targets[0].Encryption = meridian.TargetEncryption{KMS: "aws-kms", CustomerManagedKeys: true}
	cfg.Targets[0].LogRetentionMaxDays = 365
	cfg.Targets[0].Capacity = meridian.Capacity{VCPU: 10, MemoryGiB: 40}
	for i := range cfg.Workloads {
		cfg.Workloads[i].PerReplica = meridian.PerReplica{VCPU: 1, MemoryGiB: 2}
	}
	snap := snapshot("c1", cfg)
	h.Loader.Set("master", snap)
	h.Loader.Set("c1", snap)
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().PlanID != "" })
	f := &uiFixture{harness: h, srvHistory: db, planID: h.Recon.State().PlanID, browsers: map[web.Role]*browser{}}

	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := h.St.SyncDrift(ctx, controlplanetest.RepoID, []meridian.DriftEngine{meridian.DriftEngineTerraform}, []meridian.DriftRecord{
		{RepoID: controlplanetest.RepoID, Engine: meridian.DriftEngineTerraform, Target: "aws-a", Workload: "api", Resource: "aws_instance.api", Action: "change"},
	}); err != nil {
		t.Fatal(err)
	}
	finding := func(workload, rule string, sev meridian.Severity, state meridian.FindingState) meridian.FindingRecord {
		fd := meridian.Finding{Rule: rule, Workload: workload, Field: "tags.owner"}
		if rule == "TEST-OWNER" {
			fd.Field = "" // as the harness's planner raises it, remediation included
		}
		r := meridian.FindingRecord{RepoID: controlplanetest.RepoID, Branch: "master", Fingerprint: meridian.Fingerprint(fd), Rule: rule, Severity: sev,
			Workload: workload, Field: fd.Field, Message: "missing owner tag", File: "workloads/" + workload + ".yaml", Line: 3, State: state,
			FirstSeen: at, LastSeen: at, FirstCommit: "c1", LastCommit: "c1"}
		if state == meridian.FindingWaived {
			r.Waiver = &meridian.FindingWaiver{Reason: "migrating", Owner: "carol", Expires: time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)}
		}
		return r
	}
	if _, err := db.SaveFindings(ctx, []meridian.FindingRecord{
		finding("web", "TEST-OWNER", meridian.SeverityDeny, meridian.FindingOpen),
		finding("api", "ORG-WARN-1", meridian.SeverityWarn, meridian.FindingOpen),
		finding("batch", "ORG-WARN-1", meridian.SeverityWarn, meridian.FindingWaived),
	}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, p := range []meridian.CostPoint{
		{Kind: meridian.CostPlanned, Time: now.Add(-72 * time.Hour), PlanID: "p0", Total: 1000},
		{Kind: meridian.CostApplied, Time: now.Add(-48 * time.Hour), PlanID: "p0", Total: 3441.05},
		{Kind: meridian.CostPlanned, Time: now.Add(-time.Hour), PlanID: f.planID, Total: 60},
	} {
		p.RepoID, p.Branch, p.Commit = controlplanetest.RepoID, "master", "c"+string(rune('0'+i))
		p.By = map[meridian.CostDimension]map[string]meridian.Money{
			meridian.CostByProvider: {"aws": p.Total}, meridian.CostByTarget: {"aws-a": p.Total}, meridian.CostByTeam: {"payments": p.Total},
		}
		if err := db.RecordCost(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	h.St.PutLock(store.Lock{Key: store.LockKey{RepoID: controlplanetest.RepoID, Target: "onprem-b"}, Token: 1,
		Owner: store.Owner{Actor: "api:t-operator", Host: "ci-1"}, AcquiredAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(time.Hour)})
	for _, role := range web.Roles {
		b := newBrowser(t, h)
		if resp := b.login(h.tokens[role], "/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: %d", role, resp.StatusCode)
		}
		f.browsers[role] = b
	}
	return f
}

// loaderRef hands the server the harness's loader, which exists only once
// the server does.
type loaderRef struct{ l web.ConfigLoader }

func (r *loaderRef) Load(ctx context.Context, ref string) (*controlplane.Snapshot, error) {
	return r.l.Load(ctx, ref)
}

// get fetches a page as role and parses it.
func (f *uiFixture) get(t *testing.T, role web.Role, path string) (*http.Response, string, *html.Node) {
	t.Helper()
	resp, body := f.browsers[role].send("GET", path, nil, nil)
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: parse: %v", path, err)
	}
	return resp, body, doc
}

func find(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if ok(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(doc *html.Node, id string) *html.Node {
	for _, n := range find(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return n.Type == html.ElementNode && v == id }) {
		return n
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// uiPages are every page the dashboard serves, for the checks that hold on
// all of them.
func (f *uiFixture) uiPages() map[string]string {
	return map[string]string{
		"overview":   "/",
		"placements": "/placements",
		"workload":   "/workloads/api",
		"target":     "/targets/aws-a",
		"drift":      "/drift",
		"findings":   "/findings?state=open",
		"waived":     "/findings?state=waived",
		"plans":      "/plans",
		"plan":       "/plans/" + f.planID,
		"locks":      "/locks",
	}
}

// volatile matches what changes from run to run: times, plan-relative
// chart coordinates, CSRF tokens and request IDs.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC`), "DATE"},
	{regexp.MustCompile(`\d+ (min|h|days) ago|just now`), "AGO"},
	{regexp.MustCompile(`\b(points|cx|cy|x|y|y1|y2)="[^"]*"`), `$1="…"`},
	{regexp.MustCompile(`>\d{4}-\d{2}-\d{2}<`), ">DAY<"},
	{regexp.MustCompile(`name="csrf" value="[^"]*"`), `name="csrf" value="CSRF"`},
}

// TestUIPagesGolden renders the <main> of every page for the fixture, as
// a viewer, against testdata/ui/*.golden.html (go test -run TestUIPagesGolden -update).
func TestUIPagesGolden(t *testing.T) {
	f := newUIFixture(t)
	for name, path := range f.uiPages() {
		t.Run(name, func(t *testing.T) {
			resp, _, doc := f.get(t, web.RoleViewer, path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", path, resp.StatusCode)
			}
			main := byID(doc, "content")
			if main == nil {
				t.Fatalf("GET %s: no <main id=content>", path)
			}
			var b bytes.Buffer
			if err := html.Render(&b, main); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			for _, v := range volatile {
				got = v.re.ReplaceAllString(got, v.repl)
			}
			got = strings.ReplaceAll(got, f.planID, "PLANID")
			got = strings.ReplaceAll(got, f.planID[:12], "PLANID")
			golden := filepath.Join("testdata", "ui", name+".golden.html")
			if *updateUI {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("GET %s: <main> differs from %s (run with -update and review the diff):\n%s", path, golden, got)
			}
		})
	}
}

// TestUIOverviewFigures: the overview's figures are those of the API, in
// the CLI's money format, under the ids the end-to-end test reads.
func TestUIOverviewFigures(t *testing.T) {
	f := newUIFixture(t)
	var costs struct {
		Total meridian.Money `json:"total"`
	}
	if code := f.do("GET", "/api/v1/costs", web.RoleViewer, nil, &costs); code != 200 {
		t.Fatalf("GET /api/v1/costs: %d", code)
	}
	var hist struct {
		Applied []struct {
			Total meridian.Money `json:"total"`
		} `json:"applied"`
	}
	if code := f.do("GET", "/api/v1/costs/history", web.RoleViewer, nil, &hist); code != 200 || len(hist.Applied) == 0 {
		t.Fatalf("GET /api/v1/costs/history: %d %+v", code, hist)
	}
	_, _, doc := f.get(t, web.RoleViewer, "/")
	want := map[string]string{
		"cost-planned":      costs.Total.String(),
		"cost-applied":      hist.Applied[len(hist.Applied)-1].Total.String(),
		"count-drift":       "1",
		"count-deny":        "1",
		"count-warn":        "1",
		"count-blocked":     "0",
		"count-unplaceable": "0",
		"count-frozen":      "0",
		"count-locks":       "1",
		"saving-runner-up":  "$0.00",
	}
	for id, w := range want {
		n := byID(doc, id)
		if n == nil {
			t.Errorf("no element #%s", id)
			continue
		}
		if got := text(n); got != w {
			t.Errorf("#%s = %q, want %q", id, got, w)
		}
	}
	if got := text(byID(doc, "cost-applied")); got != "$3,441.05" {
		t.Errorf("applied cost %q: want the CLI's format $3,441.05", got)
	}

	// Once the head's plan is applied, its figure is the plan's total, as
	// /api/v1/costs reports it, whatever the cost point rounded it to.
	if err := f.srvHistory.RecordCost(context.Background(), meridian.CostPoint{RepoID: controlplanetest.RepoID, Branch: "master", Kind: meridian.CostApplied,
		Time: time.Now(), PlanID: f.planID, Commit: "c1", Total: costs.Total - 0.01}); err != nil {
		t.Fatal(err)
	}
	_, _, doc = f.get(t, web.RoleViewer, "/")
	if got := text(byID(doc, "cost-applied")); got != costs.Total.String() {
		t.Errorf("applied cost of the head's plan %q, want %q as /api/v1/costs says", got, costs.Total.String())
	}
}

// TestUIPagesAreSafe checks what the Content-Security-Policy and the
// accessibility rules need on every page, for every role: no inline
// script, handler or style; every POST form carries the session's CSRF
// token; every table has a caption and scoped header cells; every input
// has a label.
func TestUIPagesAreSafe(t *testing.T) {
	f := newUIFixture(t)
	pages := f.uiPages()
	pages["error"] = "/workloads/nope"
	for _, role := range web.Roles {
		for name, path := range pages {
			_, body, doc := f.get(t, role, path)
			where := string(role) + " " + name
			if !strings.Contains(body, `<main id="content"`) {
				t.Errorf("%s: no <main id=content>", where)
			}
			labels := map[string]bool{}
			for _, n := range find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "label" }) {
				if v, ok := attr(n, "for"); ok {
					labels[v] = true
				}
			}
			for _, n := range find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
						t.Errorf("%s: <%s %s=%q>: inline handler or style", where, n.Data, a.Key, a.Val)
					}
					if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
						t.Errorf("%s: <%s %s=%q>", where, n.Data, a.Key, a.Val)
					}
				}
				switch n.Data {
				case "script":
					if src, ok := attr(n, "src"); !ok || src == "" || n.FirstChild != nil {
						t.Errorf("%s: inline <script>", where)
					}
				case "style":
					t.Errorf("%s: <style> element", where)
				case "form":
					if m, _ := attr(n, "method"); strings.EqualFold(m, "post") {
						ok := false
						for _, in := range find(n, func(c *html.Node) bool { v, _ := attr(c, "name"); return c.Data == "input" && v == "csrf" }) {
							v, _ := attr(in, "value")
							ok = v != "" && v == formCSRF(t, body)
						}
						if !ok {
							t.Errorf("%s: a POST form without the session's csrf field", where)
						}
					}
				case "table":
					if len(find(n, func(c *html.Node) bool { return c.Data == "caption" })) == 0 {
						t.Errorf("%s: a table without a caption", where)
					}
					for _, th := range find(n, func(c *html.Node) bool { return c.Type == html.ElementNode && c.Data == "th" }) {
						if _, ok := attr(th, "scope"); !ok {
							t.Errorf("%s: <th> without scope: %s", where, text(th))
						}
					}
				case "input", "select":
					if typ, _ := attr(n, "type"); typ == "hidden" {
						continue
					}
					if id, _ := attr(n, "id"); id == "" || !labels[id] {
						t.Errorf("%s: <%s> without a label", where, n.Data)
					}
				}
			}
		}
	}
}

// TestUIApplyRoles: only operators may apply from the dashboard; a viewer
// gets an HTML 403 and nothing is applied.
func TestUIApplyRoles(t *testing.T) {
	cases := map[string]struct {
		reason string
		role   web.Role
		status int
		// location is the redirect's prefix.
		location string
		applies  int64
	}{
		"viewer":   {"a viewer may not apply, whatever the page hides", web.RoleViewer, http.StatusForbidden, "", 0},
		"operator": {"an operator applies through the API's path and is sent to the run", web.RoleOperator, http.StatusSeeOther, "/runs/", 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newUIFixture(t)
			b := f.browsers[tc.role]
			_, page := b.send("GET", "/plans/"+f.planID, nil, nil)
			hasButton := strings.Contains(page, `id="apply-form"`)
			if hasButton != (tc.role != web.RoleViewer) {
				t.Errorf("%s: apply button shown = %v", tc.reason, hasButton)
			}
			resp, body := b.send("POST", "/plans/"+f.planID+"/apply", url.Values{"csrf": {formCSRF(t, page)}}, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: POST apply: %d, want %d\n%s", tc.reason, resp.StatusCode, tc.status, body)
			}
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, tc.location) {
				t.Errorf("%s: Location %q, want %q...", tc.reason, loc, tc.location)
			}
			if tc.status >= 400 && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `id="error-message"`)) {
				t.Errorf("%s: error answer is not the HTML error page: %s %s", tc.reason, resp.Header.Get("Content-Type"), body)
			}
			if got := f.Applier.Applied(); got != tc.applies {
				t.Errorf("%s: %d applies, want %d", tc.reason, got, tc.applies)
			}
			// The API's path audits the request, naming the signed-in token.
			ev, err := f.St.ListAudit(context.Background(), store.AuditFilter{Action: "apply.requested"})
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(ev)) != tc.applies || (len(ev) == 1 && (ev[0].Actor != "api:t-operator" || ev[0].PlanID != f.planID)) {
				t.Errorf("%s: audit %+v", tc.reason, ev)
			}
		})
	}
}

// TestUILockRelease: releasing a lock follows the API's force-unlock rules.
func TestUILockRelease(t *testing.T) {
	cases := map[string]struct {
		reason string
		role   web.Role
		status int
		held   int
	}{
		"viewer":   {"viewers may not release locks", web.RoleViewer, http.StatusForbidden, 1},
		"operator": {"an operator releases a lock it holds", web.RoleOperator, http.StatusSeeOther, 0},
		"admin":    {"an admin releases anyone's lock", web.RoleAdmin, http.StatusSeeOther, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newUIFixture(t)
			b := f.browsers[tc.role]
			_, page := b.send("GET", "/locks", nil, nil)
			resp, body := b.send("POST", "/locks/release", url.Values{"csrf": {formCSRF(t, page)}, "target": {"onprem-b"}, "reason": {"stuck"}}, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: %d, want %d\n%s", tc.reason, resp.StatusCode, tc.status, body)
			}
			ls, err := f.St.ListLocks(context.Background(), controlplanetest.RepoID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) != tc.held {
				t.Errorf("%s: %d locks held, want %d", tc.reason, len(ls), tc.held)
			}
		})
	}
}

// TestUIPlacementsQuery: filters, sorting and paging happen on the server
// and the links keep them.
func TestUIPlacementsQuery(t *testing.T) {
	f := newUIFixture(t)
	rows := func(doc *html.Node) []string {
		var out []string
		tbl := byID(doc, "placements")
		for _, th := range find(tbl, func(n *html.Node) bool { s, _ := attr(n, "scope"); return n.Data == "th" && s == "row" }) {
			out = append(out, strings.Fields(text(th))[0])
		}
		return out
	}
	cases := map[string]struct {
		query  string
		status int
		rows   []string
		prev   bool
		next   bool
	}{
		"default order is by workload": {"", 200, []string{"api", "batch", "web"}, false, false},
		"sort by cost descending":      {"sort=cost&dir=desc", 200, []string{"batch", "api", "web"}, false, false},
		"sort by replicas ascending":   {"sort=replicas", 200, []string{"web", "api", "batch"}, false, false},
		"search by name":               {"q=AT", 200, []string{"batch"}, false, false},
		"team filter":                  {"team=team-api", 200, []string{"api"}, false, false},
		"jurisdiction filter":          {"jurisdiction=us", 200, []string{"api", "batch", "web"}, false, false},
		"no match":                     {"provider=gcp", 200, nil, false, false},
		"first page":                   {"per_page=1", 200, []string{"api"}, false, true},
		"middle page":                  {"per_page=1&page=2", 200, []string{"batch"}, true, true},
		"last page":                    {"per_page=1&page=3&sort=workload", 200, []string{"web"}, true, false},
		"page past the end":            {"per_page=1&page=9", 200, nil, true, false},
		"bad page":                     {"page=x", 400, nil, false, false},
		"per_page over the maximum":    {"per_page=501", 400, nil, false, false},
		"unknown sort column":          {"sort=secret", 400, nil, false, false},
		"bad direction":                {"sort=cost&dir=up", 400, nil, false, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body, doc := f.get(t, web.RoleViewer, "/placements?"+tc.query)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d\n%s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if got := rows(doc); strings.Join(got, ",") != strings.Join(tc.rows, ",") {
				t.Errorf("rows %v, want %v", got, tc.rows)
			}
			prev, next := byID(doc, "page-prev"), byID(doc, "page-next")
			if (prev != nil) != tc.prev || (next != nil) != tc.next {
				t.Errorf("prev %v next %v, want %v %v", prev != nil, next != nil, tc.prev, tc.next)
			}
			if next != nil {
				href, _ := attr(next, "href")
				u, _ := url.Parse(href)
				orig, _ := url.ParseQuery(tc.query)
				for k := range orig {
					if k != "page" && u.Query().Get(k) != orig.Get(k) && !(k == "sort" && orig.Get(k) == "workload") {
						t.Errorf("next link %q drops %s=%s", href, k, orig.Get(k))
					}
				}
			}
		})
	}
}

// TestUIStaticAndStream: assets are served under hashed names with long
// caching and no session; the event stream is the API's feed for a
// signed-in browser.
func TestUIStaticAndStream(t *testing.T) {
	f := newUIFixture(t)
	_, _, doc := f.get(t, web.RoleViewer, "/")
	var assets []string
	for _, n := range find(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" }) {
		for _, k := range []string{"src", "href"} {
			if v, ok := attr(n, k); ok {
				assets = append(assets, v)
			}
		}
	}
	if len(assets) != 2 {
		t.Fatalf("assets %v, want the stylesheet and the script", assets)
	}
	anon := newBrowser(t, f.harness)
	for _, a := range assets {
		if !regexp.MustCompile(`^/static/[a-z]+\.[0-9a-f]{8}\.(css|js)$`).MatchString(a) {
			t.Errorf("asset %q has no content hash in its name", a)
		}
		resp, body := anon.send("GET", a, nil, nil)
		if resp.StatusCode != 200 || body == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: %d, Cache-Control %q", a, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := anon.send("GET", "/static/live.js", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unhashed asset name: %d, want 404", resp.StatusCode)
	}

	req, _ := http.NewRequest("GET", f.http.URL+"/events/stream", nil)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.browsers[web.RoleViewer].c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make([]byte, 64)
	n, _ := resp.Body.Read(line)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(string(line[:n]), ": events after") {
		t.Errorf("GET /events/stream: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), line[:n])
	}
	if resp, _ := anon.send("GET", "/events/stream", nil, map[string]string{"Accept": "text/event-stream"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the stream without a session: %d, want a redirect to sign in", resp.StatusCode)
	}
}

// TestUIErrors: HTML routes answer errors with the HTML error page and the
// right status, quoting client input clipped.
func TestUIErrors(t *testing.T) {
	f := newUIFixture(t)
	cases := map[string]struct {
		path   string
		status int
	}{
		"unknown workload":  {"/workloads/" + strings.Repeat("x", 500), 404},
		"unknown target":    {"/targets/nowhere", 404},
		"unknown plan":      {"/plans/deadbeef", 404},
		"unknown run":       {"/runs/nope", 404},
		"bad finding state": {"/findings?state=closed", 400},
		"bad drift engine":  {"/drift?engine=chef", 400},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body, doc := f.get(t, web.RoleViewer, tc.path)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d %s, want %d HTML", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
			}
			msg := byID(doc, "error-message")
			if msg == nil {
				t.Fatalf("no error message:\n%s", body)
			}
			if len(text(msg)) > 400 {
				t.Errorf("the message echoes the request unclipped: %d bytes", len(text(msg)))
			}
		})
	}
}
