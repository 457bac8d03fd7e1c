package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/sdk"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
)

// edgeServer boots `meridian serve` on a Git copy of examples/EXAMPLE,
// without Terraform (the bundles need plans only), and waits for the
// startup plan.
func edgeServer(t testing.TB, example string, mod func(*ServeConfig)) (m *Main, repo, state string) {
	t.Helper()
	repo, state = exampleRepoNamed(t, example), t.TempDir()
	m, _ = bootServer(t, repo, state, func(c *ServeConfig) {
		c.NoTerraform = true
		if mod != nil {
			mod(c)
		}
	})
	// The bundles are built just after the plan: before, the head's
	// revision is "", which an agent that activated nothing also answers.
	waitUntil(t, "the startup plan's edge bundles", func() bool { return m.edge.Head().Revision != "" })
	return m, repo, state
}

// agentConfig runs `meridian edge agent-config` and returns its stdout.
func agentConfig(t testing.TB, m *Main, state, site string, extra ...string) []byte {
	t.Helper()
	args := append([]string{"edge", "agent-config", site, "--server", "http://" + m.Addr(), "--state-dir", state,
		"--persistence-dir", t.TempDir()}, extra...)
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("edge agent-config %s: %d %s", site, r.code, r.stderr)
	}
	return []byte(r.stdout)
}

// startAgent starts a real OPA (the SDK: OPA's own bundle and status
// plugins) on config.
func startAgent(t testing.TB, id string, config []byte) *sdk.OPA {
	t.Helper()
	ready := make(chan struct{})
	var log logging.Logger = logging.NewNoOpLogger()
	if testing.Verbose() {
		l := logging.New()
		l.SetLevel(logging.Debug)
		log = l.WithFields(map[string]any{"agent": id})
	}
	opa, err := sdk.New(context.Background(), sdk.Options{ID: id, Config: bytes.NewReader(config), Ready: ready,
		Logger: log, ConsoleLogger: logging.NewNoOpLogger()})
	if err != nil {
		t.Fatalf("start OPA %s: %v", id, err)
	}
	t.Cleanup(func() { opa.Stop(context.Background()) })
	return opa
}

// agentRevision is the revision of the Meridian bundle the agent answers
// decisions with ("" before it activated one).
func agentRevision(opa *sdk.OPA) string {
	res, err := opa.Decision(context.Background(), sdk.DecisionOptions{Path: "/meridian/edge/revision"})
	if err != nil {
		return ""
	}
	s, _ := res.Result.(string)
	return s
}

// push commits the nth change to examples/hybrid's docs-site tags and
// delivers its signed push webhook, returning the moment the delivery was
// sent.
func push(t testing.TB, c *client, repo string, n int) time.Time {
	t.Helper()
	return pushRollout(t, c, repo, n, "workloads/docs-site.yaml", [2]string{"cost-center:", "rollout: r1\n  cost-center:"}, "rollout: r%d\n")
}

// pushVideo is push for examples/edge-50: the nth change to the tags of
// video-analytics, which runs at every site, so every site's bundle data
// changes with the merge.
func pushVideo(t testing.TB, c *client, repo string, n int) time.Time {
	t.Helper()
	return pushRollout(t, c, repo, n, "workloads/video-analytics.yaml", [2]string{"env: prod}", "env: prod, rollout: r1}"}, "rollout: r%d}")
}

// pushRollout edits file (first[0] becomes first[1] on the first change,
// then tag's n-1 becomes its n), commits and pushes it.
func pushRollout(t testing.TB, c *client, repo string, n int, file string, first [2]string, tag string) time.Time {
	t.Helper()
	old, new := first[0], first[1]
	if n > 1 {
		old, new = fmt.Sprintf(tag, n-1), fmt.Sprintf(tag, n)
	}
	editFile(t, repo, file, old, new)
	git(t, repo, "commit", "-qam", fmt.Sprintf("rollout %d", n))
	sha := git(t, repo, "rev-parse", "HEAD")
	body := signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main", "after": sha,
		"repository.full_name": "Codertocat/Hello-World"})
	start := time.Now()
	if code := c.webhook("push", fmt.Sprintf("edge-push-%d-%d", n, time.Now().UnixNano()), body); code != http.StatusAccepted {
		t.Fatalf("push delivery: %d", code)
	}
	return start
}

// headRevision waits for the edge bundles of the branch head at commit.
func headRevision(t testing.TB, m *Main, commit string) string {
	t.Helper()
	var rev string
	waitUntil(t, "edge bundles of "+commit, func() bool {
		h := m.edge.Head()
		rev = h.Revision
		return h.Commit == commit
	})
	return rev
}

func viewerClient(t testing.TB, m *Main, state string) *client {
	t.Helper()
	r := runCLI(t, "token", "create", "--role", "viewer", "--name", "edge-viewer", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("token create: %d %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	return &client{t: t, base: "http://" + m.Addr(), token: lines[len(lines)-1], http: &http.Client{Timeout: time.Minute}}
}

func siteView(t testing.TB, c *client, site string) edge.SiteView {
	t.Helper()
	var o edge.Overview
	if code := c.do("GET", "/api/v1/sites", nil, &o); code != http.StatusOK {
		t.Fatalf("GET /api/v1/sites: %d", code)
	}
	for _, v := range o.Sites {
		if v.Site == site {
			return v
		}
	}
	t.Fatalf("site %s not listed in %+v", site, o.Sites)
	return edge.SiteView{}
}

// TestEdgeAgentConfigEndToEnd feeds the output of `meridian edge
// agent-config` unchanged to a real OPA agent, which activates the site's
// signed bundle (policies that decide, and the site's placements) and then
// a merge's new revision, reported back through OPA's status API.
func TestEdgeAgentConfigEndToEnd(t *testing.T) {
	m, repo, state := edgeServer(t, "hybrid", nil)
	const site = "edge-ber-store"
	cfg := agentConfig(t, m, state, site, "--repo", repo)
	for _, secretless := range []string{"-----BEGIN PRIVATE KEY-----", "EC PRIVATE KEY"} {
		if bytes.Contains(cfg, []byte(secretless)) {
			t.Fatalf("the agent config holds the private signing key:\n%s", cfg)
		}
	}
	opa := startAgent(t, site, cfg)
	rev1 := m.edge.Head().Revision
	waitUntil(t, "the agent on "+rev1, func() bool { return agentRevision(opa) == rev1 })

	// The site's data is its share of the plan.
	_, plan, err := m.Reconciler().SavedPlan(context.Background(), m.Reconciler().State().PlanID)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range plan.Placements {
		if p.Target == site {
			want = append(want, p.Workload)
		}
	}
	res, err := opa.Decision(context.Background(), sdk.DecisionOptions{Path: "/meridian/edge"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Result.(map[string]any)["workloads"].([]any) {
		got = append(got, w.(map[string]any)["name"].(string))
	}
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("workloads in the bundle = %v, want the plan's placements on %s: %v", got, site, want)
	}
	// The org policies decide at the site as they do in Meridian.
	res, err = opa.Decision(context.Background(), sdk.DecisionOptions{Path: "/meridian/org/placement/edge/deny",
		Input: map[string]any{"target": map[string]any{"labels": map[string]any{"tier": "edge"}}, "workload": map[string]any{"tags": map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if findings, _ := res.Result.([]any); len(findings) != 1 {
		t.Errorf("ORG-EDGE-001 at the site: %v, want one finding", res.Result)
	}

	c := viewerClient(t, m, state)
	waitUntil(t, "the site reported on the head", func() bool { v := siteView(t, c, site); return v.OnHead && v.Health == "ok" })

	// A merge reaches the agent.
	push(t, c, repo, 1)
	rev2 := headRevision(t, m, git(t, repo, "rev-parse", "HEAD"))
	if rev2 == rev1 {
		t.Fatalf("the push did not change the revision (%s)", rev1)
	}
	waitUntil(t, "the agent on "+rev2, func() bool { return agentRevision(opa) == rev2 })
	waitUntil(t, "the site reported "+rev2, func() bool { return siteView(t, c, site).ActiveRevision == rev2 })

	// The endpoints need the site's own credential.
	anon := &client{t: t, base: c.base, http: c.http}
	if code := anon.do("GET", edge.Path+"/bundles/"+site, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("bundle without a credential: %d, want 401", code)
	}
	other := agentConfig(t, m, state, "edge-chi-store")
	otherCred := between(t, string(other), "token: ", "\n")
	wrong := &client{t: t, base: c.base, token: otherCred, http: c.http}
	if code := wrong.do("GET", edge.Path+"/bundles/"+site, nil, nil); code != http.StatusForbidden {
		t.Errorf("bundle with another site's credential: %d, want 403", code)
	}
	if code := wrong.do("GET", edge.Path+"/bundles/edge-chi-store", nil, nil); code != http.StatusOK {
		t.Errorf("bundle with the site's credential: %d, want 200", code)
	}
	// Status bodies have a budget, and must be OPA's reports; an agent's
	// first report, sent before it has any bundle, is taken.
	big := map[string]string{"pad": strings.Repeat("x", edge.MaxStatusBytes)}
	if code := wrong.do("POST", edge.Path+"/status/edge-chi-store", big, nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized status report: %d, want 413", code)
	}
	if code := wrong.do("POST", edge.Path+"/status/edge-chi-store", []string{"not", "a", "report"}, nil); code != http.StatusBadRequest {
		t.Errorf("status body that is not a report: %d, want 400", code)
	}
	boot := map[string]any{"labels": map[string]string{"id": "opa-chi"}, "plugins": map[string]any{"bundle": map[string]string{"state": "NOT_READY"}}}
	if code := wrong.do("POST", edge.Path+"/status/edge-chi-store", boot, nil); code != http.StatusNoContent {
		t.Errorf("status report before the first bundle: %d, want 204", code)
	}

	// `edge sites` lists, from the store, what each site runs.
	r := runCLI(t, "edge", "sites", "--state-dir", state)
	if r.code != 0 || !regexp.MustCompile(`(?m)^edge-ber-store\s+`+regexp.QuoteMeta(rev2)+`\s+ok\s+-\s`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^edge-chi-store\s+-\s+(syncing|behind)\s`).MatchString(r.stdout) {
		t.Errorf("edge sites: %d\n%s%s\nwant edge-ber-store ok on %s and edge-chi-store seen without a bundle", r.code, r.stdout, r.stderr, rev2)
	}
	// A revoked credential opens nothing: 401 on both endpoints, while
	// another site's credential still works.
	if r := runCLI(t, "edge", "revoke", "edge-chi-store", "--state-dir", state); r.code != 0 || !strings.Contains(r.stdout, "1 credential(s) of edge site edge-chi-store") {
		t.Fatalf("edge revoke: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if code := wrong.do("GET", edge.Path+"/bundles/edge-chi-store", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("bundle with a revoked credential: %d, want 401", code)
	}
	report := map[string]any{"bundles": map[string]any{edge.BundleName: map[string]any{"name": edge.BundleName, "active_revision": rev2}}}
	if code := wrong.do("POST", edge.Path+"/status/edge-chi-store", report, nil); code != http.StatusUnauthorized {
		t.Errorf("status with a revoked credential: %d, want 401", code)
	}
	if r := runCLI(t, "edge", "revoke", "edge-chi-store", "--state-dir", state); r.code == 0 || !strings.Contains(r.stderr, "no live credential") {
		t.Errorf("second revoke: %d %s, want an error: nothing left to revoke", r.code, r.stderr)
	}
	if r := runCLI(t, "edge", "revoke", "edge-nowhere", "--state-dir", state); r.code == 0 {
		t.Errorf("revoke of an unknown site: %d, want an error", r.code)
	}
	waitUntil(t, "the agent still on "+rev2, func() bool { return agentRevision(opa) == rev2 && siteView(t, c, site).OnHead })

	// A long poll open when its credential is revoked gets no new
	// revision when one is built.
	third := between(t, string(agentConfig(t, m, state, "edge-lon-store")), "token: ", "\n")
	get := func(etag, prefer string) *http.Response {
		req, _ := http.NewRequest("GET", c.base+edge.Path+"/bundles/edge-lon-store", nil)
		req.Header.Set("Authorization", "Bearer "+third)
		req.Header.Set("If-None-Match", etag)
		req.Header.Set("Prefer", prefer)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("", "")
	if first.StatusCode != http.StatusOK {
		t.Fatalf("bundle of edge-lon-store: %d", first.StatusCode)
	}
	polled := make(chan int, 1)
	go func() { polled <- get(first.Header.Get("ETag"), "wait=30").StatusCode }()
	time.Sleep(300 * time.Millisecond) // the poll reaches the server and waits
	if r := runCLI(t, "edge", "revoke", "edge-lon-store", "--state-dir", state); r.code != 0 {
		t.Fatalf("edge revoke: %d %s", r.code, r.stderr)
	}
	push(t, c, repo, 2)
	if code := <-polled; code != http.StatusUnauthorized {
		t.Errorf("long poll whose credential was revoked while it waited: %d, want 401", code)
	}
}

func between(t testing.TB, s, from, to string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, from)
	v, _, ok2 := strings.Cut(rest, to)
	if !ok || !ok2 {
		t.Fatalf("no %q...%q in:\n%s", from, to, s)
	}
	return strings.TrimSpace(v)
}

// siteProxy stands between an agent and Meridian: it passes traffic on,
// tampers with the bundles' signatures, or cuts the site off.
type siteProxy struct {
	mode atomic.Value // "pass", "tamper" or "down"
	srv  *httptest.Server
	// keyID is the server's signing key's ID, which the forged
	// signature claims.
	keyID string
}

func newSiteProxy(t testing.TB, target, keyID string) *siteProxy {
	t.Helper()
	u, _ := url.Parse(target)
	p := &siteProxy{keyID: keyID}
	p.mode.Store("pass")
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // agents' polls cut short by the test's end
	rp.ModifyResponse = func(resp *http.Response) error {
		if p.mode.Load() != "tamper" || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/bundles/") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		tampered := resign(t, body, p.keyID)
		resp.Body = io.NopCloser(bytes.NewReader(tampered))
		resp.ContentLength = int64(len(tampered))
		resp.Header.Set("Content-Length", fmt.Sprint(len(tampered)))
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.mode.Load() == "down" {
			http.Error(w, "site cut off", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// resign replaces a bundle's signature by one of another key under the
// same key ID: what an attacker without the server's key can do.
func resign(t testing.TB, body []byte, keyID string) []byte {
	b, err := bundle.NewReader(bytes.NewReader(body)).WithSkipBundleVerification(true).Read()
	if err != nil {
		t.Errorf("read bundle to tamper with: %v", err)
		return body
	}
	evil, err := edge.LoadKey(filepath.Join(t.TempDir(), "evil.pem"), true)
	if err != nil {
		t.Error(err)
		return body
	}
	if err := b.GenerateSignature(bundle.NewSigningConfig(evil.PrivatePEM, edge.SigningAlgorithm, ""), keyID, true); err != nil {
		t.Error(err)
		return body
	}
	var out bytes.Buffer
	if err := bundle.NewWriter(&out).UseModulePath(true).DisableFormat(true).Write(b); err != nil {
		t.Error(err)
		return body
	}
	return out.Bytes()
}

// TestEdgeTamperedAndCutOff: a tampered signature is refused by the real
// agent, which keeps its last good bundle, and Meridian shows the site
// failing; cut off from Meridian, the agent still decides with that
// bundle and Meridian shows the site stale; reconnected, it catches up and
// the feed announces each change.
func TestEdgeTamperedAndCutOff(t *testing.T) {
	m, repo, state := edgeServer(t, "hybrid", func(c *ServeConfig) { c.EdgeStaleAfter = 2 * time.Second })
	const site = "edge-sin-hub"
	proxy := newSiteProxy(t, "http://"+m.Addr(), m.edge.Key().ID)
	cfg := agentConfig(t, m, state, site, "--long-poll", "1")
	cfg = bytes.ReplaceAll(cfg, []byte("http://"+m.Addr()), []byte(proxy.srv.URL))
	opa := startAgent(t, site, cfg)
	rev1 := m.edge.Head().Revision
	waitUntil(t, "the agent on "+rev1, func() bool { return agentRevision(opa) == rev1 })
	c := viewerClient(t, m, state)
	waitUntil(t, "the site ok", func() bool { return siteView(t, c, site).Health == "ok" })

	proxy.mode.Store("tamper")
	push(t, c, repo, 1)
	rev2 := headRevision(t, m, git(t, repo, "rev-parse", "HEAD"))
	var v edge.SiteView
	waitUntil(t, "the site failing", func() bool { v = siteView(t, c, site); return v.Health == "failing" })
	if v.Error == nil || !strings.Contains(strings.ToLower(v.Error.Message), "verif") || v.ActiveRevision != rev1 {
		t.Errorf("failing site = %+v, want a verification error on %s", v, rev1)
	}
	if got := agentRevision(opa); got != rev1 {
		t.Errorf("after a tampered bundle the agent runs %q, want its last good %s", got, rev1)
	}

	proxy.mode.Store("down")
	// Stale in the store too: the leader's sweep, not only the view, has
	// seen it, so its event is appended before the agent is let back in.
	waitUntil(t, "the site stale", func() bool {
		rec, err := m.Store().GetEdgeSite(context.Background(), site)
		v = siteView(t, c, site)
		return err == nil && rec.Health == "stale" && v.Health == "stale"
	})
	if got := agentRevision(opa); got != rev1 || v.OnHead {
		t.Errorf("cut off, the agent runs %q (site %+v), want its last good %s", got, v, rev1)
	}

	proxy.mode.Store("pass")
	waitUntil(t, "the agent on "+rev2, func() bool { return agentRevision(opa) == rev2 })
	waitUntil(t, "the site ok again", func() bool { v = siteView(t, c, site); return v.Health == "ok" && v.OnHead })

	evs, err := m.Store().EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, e := range evs {
		if strings.HasPrefix(string(e.Type), "edge.") && e.Target == site {
			seq = append(seq, string(e.Type))
		}
	}
	want := []meridian.EventType{meridian.EventEdgeSiteFailing, meridian.EventEdgeSiteStale, meridian.EventEdgeSiteRecovered}
	if fmt.Sprint(seq) != fmt.Sprint(want) {
		t.Errorf("edge events of %s = %v, want %v", site, seq, want)
	}
}

// fleet is one real OPA agent per edge site of a server's config repo.
type fleet struct {
	m       *Main
	sites   []string
	configs [][]byte
	agents  []*sdk.OPA
}

// edgeSites are the edge targets of examples/edge-50's copy at repo, as
// scripts/gen-edge-50.sh names them.
func edgeSites(t testing.TB, repo string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repo, "targets", "edge-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no edge targets in %s: %v", repo, err)
	}
	var sites []string
	for _, f := range files {
		sites = append(sites, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	return sites
}

// startFleet configures every site with `meridian edge agent-config
// --repo` (which checks it is a target) and starts its agent.
func startFleet(t testing.TB, m *Main, repo, state string, sites []string) *fleet {
	t.Helper()
	f := &fleet{m: m, sites: sites, configs: make([][]byte, len(sites)), agents: make([]*sdk.OPA, len(sites))}
	for i, site := range sites {
		f.configs[i] = agentConfig(t, m, state, site, "--long-poll", "20", "--repo", repo)
	}
	m.edge.Wake()
	for i, site := range sites {
		f.agents[i] = startAgent(t, site, f.configs[i])
	}
	return f
}

// reported waits until every site reported rev through the status API and
// returns, per site, when the store first showed it.
func (f *fleet) reported(t testing.TB, rev string, deadline time.Duration) []time.Time {
	t.Helper()
	index := make(map[string]int, len(f.sites))
	for i, s := range f.sites {
		index[s] = i
	}
	at := make([]time.Time, len(f.sites))
	left := len(at)
	end := time.Now().Add(deadline)
	for left > 0 {
		sites, err := f.m.Store().ListEdgeSites(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, s := range sites {
			i, ok := index[s.Site]
			if ok && at[i].IsZero() && s.ActiveRevision == rev {
				at[i], left = now, left-1
			}
		}
		if left > 0 && now.After(end) {
			var missing []string
			for i, a := range at {
				if a.IsZero() {
					missing = append(missing, f.sites[i])
				}
			}
			t.Fatalf("after %s, %d sites did not report %s: %v", deadline, left, rev, missing)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return at
}

// decide is the agent's decision at path (data.PATH), as JSON.
func decide(t testing.TB, opa *sdk.OPA, path string) []byte {
	t.Helper()
	res, err := opa.Decision(context.Background(), sdk.DecisionOptions{Path: path})
	if err != nil {
		t.Fatalf("decision %s: %v", path, err)
	}
	b, err := json.Marshal(res.Result)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEdgeRolloutKillRestart runs examples/edge-50's 50 K3s sites: every
// agent activates its site's bundle, whose data holds the site's placed
// workloads and the traffic its Calico policy admits; then five agents
// die as a merge rolls out and, started again with their configs,
// converge on the new revision with the others.
func TestEdgeRolloutKillRestart(t *testing.T) {
	m, repo, state := edgeServer(t, "edge-50", nil)
	sites := edgeSites(t, repo)
	if len(sites) != 50 {
		t.Fatalf("examples/edge-50 has %d edge sites, want 50", len(sites))
	}
	f := startFleet(t, m, repo, state, sites)
	f.reported(t, m.edge.Head().Revision, time.Minute)

	// What a site's agent decides with: its share of the plan, read
	// through the real agent.
	_, plan, err := m.Reconciler().SavedPlan(context.Background(), m.Reconciler().State().PlanID)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(sites) - 1} {
		site := sites[i]
		var workloads []edge.SiteWorkload
		if err := json.Unmarshal(decide(t, f.agents[i], "/meridian/edge/workloads"), &workloads); err != nil {
			t.Fatal(err)
		}
		placed := map[string]int{}
		for _, p := range plan.Placements {
			if p.Target == site {
				placed[p.Workload] += p.Replicas
			}
		}
		got := map[string]int{}
		for _, w := range workloads {
			got[w.Name] += w.Replicas
		}
		if placed["video-analytics"] == 0 || fmt.Sprint(got) != fmt.Sprint(placed) {
			t.Errorf("%s: workloads in the bundle %v, want the plan's placements %v (video analytics included)", site, got, placed)
		}
		var flows meridian.SiteFlows
		if err := json.Unmarshal(decide(t, f.agents[i], "/meridian/edge/flows"), &flows); err != nil {
			t.Fatal(err)
		}
		// video-analytics.yaml admits the cameras (192.168.0.0/16 and
		// role=camera-gateway pods) on RTSP 8554/tcp; kafka.yaml admits
		// video-analytics on 9092, which the site opens as egress.
		var cameras, kafka bool
		for _, fl := range flows.Ingress {
			cameras = cameras || (fl.To.Workload == "video-analytics" && fl.To.Target == site && slices.Contains(fl.From.CIDRs, "192.168.0.0/16") &&
				len(fl.Ports) > 0 && fl.Ports[0].Port == 8554)
		}
		for _, fl := range flows.Egress {
			kafka = kafka || (fl.From.Target == site && fl.From.Workload == "video-analytics" && fl.To.Workload == "kafka" &&
				len(fl.Ports) > 0 && fl.Ports[0].Port == 9092)
		}
		if !cameras || !kafka {
			t.Errorf("%s: flows in the bundle %+v, want the cameras' ingress (%v) and the egress to kafka (%v)", site, flows, cameras, kafka)
		}
		if calico := string(decide(t, f.agents[i], "/meridian/edge/target/network/calico")); calico != "true" {
			t.Errorf("%s: target.network.calico = %s, want true", site, calico)
		}
	}

	c := viewerClient(t, m, state)
	pushVideo(t, c, repo, 1)
	for i := range 5 {
		f.agents[i].Stop(context.Background())
	}
	rev := headRevision(t, m, git(t, repo, "rev-parse", "HEAD"))
	for i := range 5 {
		f.agents[i] = startAgent(t, sites[i]+"-restarted", f.configs[i])
	}
	f.reported(t, rev, time.Minute)
	for i, a := range f.agents {
		if got := agentRevision(a); got != rev {
			t.Errorf("%s answers with %q, want %s", sites[i], got, rev)
		}
	}
	var o edge.Overview
	c.do("GET", "/api/v1/sites?health=ok", nil, &o)
	if o.Summary.OnHead != len(sites) || len(o.Sites) != len(sites) {
		t.Errorf("sites on the head: %d of %d listed ok (summary %+v)", o.Summary.OnHead, len(o.Sites), o.Summary)
	}
}

// BenchmarkEdgePropagation50 measures a merge's propagation to the 50
// K3s sites of examples/edge-50, each with a real OPA agent: from the
// signed push webhook until each site's status report shows the new
// revision. Metrics: p50, p99 and max seconds.
func BenchmarkEdgePropagation50(b *testing.B) {
	m, repo, state := edgeServer(b, "edge-50", nil)
	f := startFleet(b, m, repo, state, edgeSites(b, repo))
	f.reported(b, m.edge.Head().Revision, 2*time.Minute)
	c := viewerClient(b, m, state)
	var lat, built []float64
	b.ResetTimer()
	for i := range b.N {
		start := pushVideo(b, c, repo, i+1)
		rev := headRevision(b, m, git(b, repo, "rev-parse", "HEAD"))
		built = append(built, time.Since(start).Seconds())
		for _, at := range f.reported(b, rev, 2*time.Minute) {
			lat = append(lat, at.Sub(start).Seconds())
		}
	}
	b.StopTimer()
	// How much of it is Meridian's (fetch, plan, build and sign 50
	// bundles) rather than the agents' (download, verify, compile, report).
	b.ReportMetric(slices.Max(built), "built-max-s")
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-s")
	b.ReportMetric(lat[min(len(lat)-1, len(lat)*99/100)], "p99-s")
	b.ReportMetric(lat[len(lat)-1], "max-s")
}
