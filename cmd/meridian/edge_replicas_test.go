package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store/postgres/postgrestest"
)

// TestEdgeReplicasAnnounceOnce: two `meridian serve` replicas on one
// PostgreSQL store both serve an edge site and take its reports; when it
// goes quiet and comes back, the feed announces each change once.
func TestEdgeReplicasAnnounceOnce(t *testing.T) {
	u := postgrestest.NewDatabase(t)
	repo := exampleRepo(t)
	var replicas []*Main
	for range 2 {
		m, _ := bootServer(t, repo, t.TempDir(), func(c *ServeConfig) {
			c.DB, c.SharedStateDir, c.NoTerraform, c.EdgeStaleAfter = u, true, true, time.Second
		})
		replicas = append(replicas, m)
	}
	const site = "edge-ber-store"
	r := runCLI(t, "edge", "agent-config", site, "--server", "http://"+replicas[0].Addr(), "--state-dir", replicas[0].Config.StateDir, "--db", u)
	if r.code != 0 {
		t.Fatalf("edge agent-config: %d %s", r.code, r.stderr)
	}
	cred := between(t, r.stdout, "token: ", "\n")
	var rev string
	waitUntil(t, "both replicas on the head's bundles", func() bool {
		rev = replicas[0].edge.Head().Revision
		return rev != "" && replicas[1].edge.Head().Revision == rev
	})
	report := func(m *Main) {
		t.Helper()
		c := &client{t: t, base: "http://" + m.Addr(), token: cred, http: http.DefaultClient}
		body := map[string]any{"labels": map[string]string{"id": "opa-ber"},
			"bundles": map[string]any{edge.BundleName: map[string]string{"name": edge.BundleName, "active_revision": rev}}}
		if code := c.do("POST", edge.Path+"/status/"+site, body, nil); code != http.StatusNoContent {
			t.Fatalf("status report to %s: %d", m.Addr(), code)
		}
	}
	events := func() []meridian.EventType {
		t.Helper()
		evs, err := replicas[0].Store().EventsAfter(context.Background(), 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var out []meridian.EventType
		for _, e := range evs {
			if e.Target == site && strings.HasPrefix(string(e.Type), "edge.") {
				out = append(out, e.Type)
			}
		}
		return out
	}

	report(replicas[1])
	waitUntil(t, "the site stale", func() bool { return slices.Contains(events(), meridian.EventEdgeSiteStale) })
	time.Sleep(time.Second) // four sweeps' worth, for a second announcement to show
	report(replicas[0])
	report(replicas[1])
	waitUntil(t, "the site recovered", func() bool { return slices.Contains(events(), meridian.EventEdgeSiteRecovered) })
	time.Sleep(500 * time.Millisecond)
	want := []meridian.EventType{meridian.EventEdgeSiteStale, meridian.EventEdgeSiteRecovered}
	if got := events(); !slices.Equal(got, want) {
		t.Errorf("edge events of two replicas = %v, want %v: one per change", got, want)
	}
}
