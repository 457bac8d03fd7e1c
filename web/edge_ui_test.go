package web_test

import (
	"context"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/web"
)

// edgeHead is a branch planned once, with no targets.
type edgeHead struct{}

func (edgeHead) Head() (string, string) { return "c1", "p1" }
func (edgeHead) Plan(_ context.Context, id string) (*meridian.Plan, error) {
	return &meridian.Plan{ID: id}, nil
}
func (edgeHead) Config(context.Context, string) (*meridian.Config, error) {
	return &meridian.Config{}, nil
}

// TestSitePages: the edge sites pages list every enrolled site, retired
// ones as retired, and each site has a page of its own, which alerts link
// to; a site never enrolled has none.
func TestSitePages(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, site := range []string{"edge-live", "edge-gone"} {
		if _, _, err := edge.IssueCredential(ctx, db, site, "test", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RevokeEdgeCredentials(ctx, "edge-gone", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	key, err := edge.LoadKey(filepath.Join(t.TempDir(), "k.pem"), true)
	if err != nil {
		t.Fatal(err)
	}
	svc := edge.NewService(edgeHead{}, db, key, edge.Options{})
	if err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{noRun: true, server: web.Options{Edge: svc}})
	b := newBrowser(t, h)
	if resp := b.login(h.tokens[web.RoleViewer], "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	cases := map[string]struct {
		reason string
		path   string
		status int
		// rows: the sites listed, each with its health.
		rows map[string]string
	}{
		"list": {reason: "every enrolled site is listed, the retired one as retired, not stale or pending",
			path: "/sites", status: 200, rows: map[string]string{"edge-live": "pending", "edge-gone": "retired"}},
		"filtered": {reason: "the retired sites alone", path: "/sites?health=retired", status: 200, rows: map[string]string{"edge-gone": "retired"}},
		"one site": {reason: "a site's own page, the one its alerts link to", path: "/sites/edge-gone", status: 200,
			rows: map[string]string{"edge-gone": "retired"}},
		"unknown site": {reason: "a site never enrolled has no page", path: "/sites/edge-nowhere", status: 404},
		"bad filter":   {reason: "a health that does not exist is refused", path: "/sites?health=sad", status: 400},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, page := b.send("GET", tc.path, nil, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s\nGET %s: %d, want %d\n%.600s", tc.reason, tc.path, resp.StatusCode, tc.status, page)
			}
			got := map[string]string{}
			for _, row := range strings.Split(page, `<tr id="site-`)[1:] {
				site, rest, _ := strings.Cut(row, `"`)
				_, health, _ := strings.Cut(rest, `<span class="tag`)
				_, health, _ = strings.Cut(health, ">")
				health, _, _ = strings.Cut(health, "<")
				got[site] = health
			}
			if tc.rows != nil && !maps.Equal(got, tc.rows) {
				t.Errorf("%s\nGET %s lists %v, want %v", tc.reason, tc.path, got, tc.rows)
			}
		})
	}
}
