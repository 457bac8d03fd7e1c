package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/alerting/alertingtest"
	"github.com/meridianhq/meridian/edge"
)

// siteCredential is the site credential in an agent config.
var siteCredential = regexp.MustCompile(`mrde_[A-Za-z0-9_-]{43}`)

// TestEdgeRetireResolvesAlertsAndLinks: two sites, one a target of the
// config (enrolled with --repo) and one not (without), go quiet; the
// site_stale alert of each reaches a real Alertmanager with a link that
// opens the site's page on the server. Revoking the second site's only
// credential retires it: its alert resolves, the API and the page show it
// retired, its old credential is refused, and agent-config enrols it
// again.
func TestEdgeRetireResolvesAlertsAndLinks(t *testing.T) {
	am := alertingtest.StartAlertmanager(t, alertingtest.Options{})
	repo, state := exampleRepoNamed(t, "hybrid"), t.TempDir()
	routes := `apiVersion: meridian/v1
kind: Alerting
sinks:
  - {name: am, type: alertmanager, url: "` + am.URL + `"}
routes:
  - {sources: [site], sinks: [am], group_by: [target], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
`
	if err := os.WriteFile(filepath.Join(repo, "alerting.yaml"), []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "alerting.yaml")
	git(t, repo, "commit", "-qm", "route site alerts to Alertmanager")
	const base = "https://meridian.example.com"
	m, _ := bootServer(t, repo, state, func(c *ServeConfig) {
		c.NoTerraform = true
		c.EdgeStaleAfter = 2 * time.Second
		c.AlertBaseURL = base
		c.AlertDispatch = alerting.DispatcherOptions{Tick: 100 * time.Millisecond}
	})
	waitUntil(t, "the startup plan's edge bundles", func() bool { return m.edge.Head().Revision != "" })
	c := viewerClient(t, m, state)
	browser := pageClient(t, c)

	cases := []struct {
		site, reason string
		enrol        []string
		target       bool // the page links to its target's
		retire       bool
	}{
		{site: "edge-ber-store", reason: "a target of the config, enrolled with --repo, kept", enrol: []string{"--repo", repo}, target: true},
		{site: "edge-popup", reason: "no target of the config (enrolled without --repo), retired", retire: true},
	}
	secrets := map[string]string{}
	for _, tc := range cases {
		secrets[tc.site] = siteCredential.FindString(string(agentConfig(t, m, state, tc.site, tc.enrol...)))
		onHead := `{"labels":{"id":"opa-` + tc.site + `"},"bundles":{"meridian":{"active_revision":"` + m.edge.Head().Revision + `"}}}`
		if code := postStatus(t, c, tc.site, secrets[tc.site], onHead); code != http.StatusNoContent {
			t.Fatalf("%s: status report: %d", tc.site, code)
		}
	}
	firing := func() map[string]string {
		links := map[string]string{}
		for _, a := range am.Alerts(t) {
			if a.Labels["alertname"] == alerting.SiteStale {
				links[a.Labels["target"]] = a.GeneratorURL
			}
		}
		return links
	}
	var links map[string]string
	waitUntil(t, "both sites' site_stale alerts at Alertmanager", func() bool { links = firing(); return len(links) == 2 })
	for _, tc := range cases {
		u, err := url.Parse(links[tc.site])
		if err != nil || !strings.HasPrefix(links[tc.site], base+"/") {
			t.Fatalf("%s: alert link %q, want one under %s", tc.site, links[tc.site], base)
		}
		if code, body := getPage(t, browser, c.base+u.RequestURI()); code != http.StatusOK || !strings.Contains(body, tc.site) || !strings.Contains(body, "stale") {
			t.Errorf("%s (%s): its alert's link %s answers %d, want 200 and the stale site:\n%.400s", tc.site, tc.reason, u.RequestURI(), code, body)
		} else if strings.Contains(body, `href="/targets/`+tc.site+`"`) != tc.target {
			t.Errorf("%s (%s): the page links to /targets/%s: %v, want %v", tc.site, tc.reason, tc.site, !tc.target, tc.target)
		}
	}

	r := runCLI(t, "edge", "revoke", "edge-popup", "--state-dir", state)
	if r.code != 0 || !strings.Contains(r.stdout, "retired") {
		t.Fatalf("edge revoke: %d %s%s, want the site retired", r.code, r.stdout, r.stderr)
	}
	waitUntil(t, "edge-popup's alert resolved at Alertmanager", func() bool {
		links = firing()
		return len(links) == 1 && links["edge-ber-store"] != ""
	})
	for _, tc := range cases {
		want := "stale"
		if tc.retire {
			want = "retired"
		}
		if v := siteView(t, c, tc.site); v.Health != want || (v.RetiredAt.IsZero() == tc.retire) {
			t.Errorf("%s (%s): GET /api/v1/sites: health %s, retired at %v; want %s", tc.site, tc.reason, v.Health, v.RetiredAt, want)
		}
		if code, body := getPage(t, browser, c.base+"/sites/"+tc.site); code != http.StatusOK || !strings.Contains(body, ">"+want+"</span>") {
			t.Errorf("%s (%s): /sites/%s: %d, want 200 showing it %s:\n%.600s", tc.site, tc.reason, tc.site, code, want, body)
		}
	}
	if code := postStatus(t, c, "edge-popup", secrets["edge-popup"], `{"labels":{"id":"opa-x"}}`); code != http.StatusUnauthorized {
		t.Errorf("status report of the retired site: %d, want 401", code)
	}
	if r := runCLI(t, "edge", "sites", "--state-dir", state); !slices.ContainsFunc(strings.Split(r.stdout, "\n"), func(l string) bool {
		return strings.HasPrefix(l, "edge-popup ") && strings.Contains(l, " retired ")
	}) {
		t.Errorf("edge sites lists no retired edge-popup:\n%s%s", r.stdout, r.stderr)
	}

	r = runCLI(t, "edge", "agent-config", "edge-popup", "--server", "http://"+m.Addr(), "--state-dir", state)
	if r.code != 0 || !strings.Contains(r.stderr, "enrolled again") {
		t.Fatalf("agent-config of the retired site: %d %s", r.code, r.stderr)
	}
	if v := siteView(t, c, "edge-popup"); v.Health != edge.HealthPending || v.ActiveRevision != "" {
		t.Errorf("edge-popup enrolled again: %+v, want pending, without its old agent's revision", v)
	}
}

// postStatus posts an OPA status report for site with its credential.
func postStatus(t *testing.T, c *client, site, secret, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/edge/v1/status/"+site, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pageClient signs in to the dashboard with c's token through the sign-in
// form, as a browser does, and returns a client that carries the session.
func pageClient(t *testing.T, c *client) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: time.Minute}
	_, form := getPage(t, hc, c.base+"/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("GET /login: no CSRF field in\n%.400s", form)
	}
	resp, err := hc.PostForm(c.base+"/login", url.Values{"csrf": {m[1]}, "token": {c.token}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign in: %d at %s, want the overview", resp.StatusCode, resp.Request.URL)
	}
	return hc
}

// getPage gets a page.
func getPage(t *testing.T, hc *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
