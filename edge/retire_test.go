package edge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/storetest"
)

// TestRetiredSiteResolvesItsAlerts: sites gone stale fire site_stale at a
// real Alertmanager; revoking a site's last live credential retires it,
// which resolves its alert there and stops its assessment, while a site
// that keeps a live credential stays stale. A retired site enrolled
// again is pending until its new agent reports.
func TestRetiredSiteResolvesItsAlerts(t *testing.T) {
	ctx := context.Background()
	rig := newSiteAlerts(t)
	am, clock, db := rig.am, rig.clock, rig.db
	cases := []struct {
		site, reason string
		// credentials to issue, and which to revoke ("" all of them; a
		// number, the credential of that index)
		credentials int
		revoke      []int
		health      string
	}{
		{site: "edge-a", reason: "revoking every credential retires the site", credentials: 1, revoke: []int{-1}, health: store.EdgeRetired},
		{site: "edge-b", reason: "revoking its last credential by ID retires it too", credentials: 2, revoke: []int{0, 1}, health: store.EdgeRetired},
		{site: "edge-c", reason: "a site with a live credential left is not retired: it stays stale", credentials: 2, revoke: []int{0},
			health: store.EdgeStale},
	}
	ids := map[string][]string{}
	for _, c := range cases {
		for range c.credentials {
			cr, _, err := edge.IssueCredential(ctx, db, c.site, "test", clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			ids[c.site] = append(ids[c.site], cr.ID)
		}
	}
	s, dispatch := rig.service(t)
	step := func() {
		t.Helper()
		if err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		dispatch()
	}
	onHead := []byte(`{"labels":{"id":"opa-1"},"bundles":{"meridian":{"active_revision":"` + edge.Revision("c1", "p1") + `"}}}`)
	for _, c := range cases {
		if err := s.Report(ctx, c.site, onHead); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(4 * time.Minute)
	step()
	firing := func() []string {
		t.Helper()
		var out []string
		for _, a := range am.Alerts(t) {
			out = append(out, a.Labels["alertname"]+"@"+a.Labels["target"])
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff([]string{"site_stale@edge-a", "site_stale@edge-b", "site_stale@edge-c"}, firing()); diff != "" {
		t.Fatalf("alerts after the sites went quiet (-want +got):\n%s", diff)
	}

	for _, c := range cases {
		for _, i := range c.revoke {
			id := ""
			if i >= 0 {
				id = ids[c.site][i]
			}
			if _, err := db.RevokeEdgeCredentials(ctx, c.site, id, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := lastEventID(t, db)
	clock.Advance(time.Minute) // the group's interval
	step()
	deadline := time.Now().Add(10 * time.Second)
	for want := []string{"site_stale@edge-c"}; !slices.Equal(firing(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager holds %v after edge-a and edge-b were retired, want %v", firing(), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	o, err := s.Overview(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if v := o.Sites[i]; v.Site != c.site || v.Health != c.health || (c.health == store.EdgeRetired) == v.RetiredAt.IsZero() {
			t.Errorf("%s\n%s: health %s, retired at %v; want %s", c.reason, v.Site, v.Health, v.RetiredAt, c.health)
		}
	}
	if o.Summary.Retired != 2 || o.Summary.Stale != 1 {
		t.Errorf("summary %+v, want 2 retired and 1 stale", o.Summary)
	}
	evs := eventsAfter(t, db, last)
	var retired []string
	for _, ev := range evs {
		if ev.Type != meridian.EventEdgeSiteRetired {
			t.Errorf("event %s on %s after the revocations, want only edge.site_retired", ev.Type, ev.Target)
		}
		retired = append(retired, ev.Target)
	}
	if diff := cmp.Diff([]string{"edge-a", "edge-b"}, retired); diff != "" {
		t.Errorf("edge.site_retired events (-want +got):\n%s", diff)
	}

	// Assessed no more: days later, no event; a report that slipped in as
	// the credential was revoked is refused.
	last = lastEventID(t, db)
	clock.Advance(48 * time.Hour)
	step()
	for _, ev := range eventsAfter(t, db, last) {
		if ev.Target != "edge-c" {
			t.Errorf("event %s on %s, a retired site", ev.Type, ev.Target)
		}
	}
	if err := s.Report(ctx, "edge-a", onHead); meridian.ErrorCode(err) != meridian.EFORBIDDEN {
		t.Errorf("report of a retired site: %v, want EFORBIDDEN", err)
	}

	// Enrolled again: pending, without its old agent's report, and it gets
	// a bundle.
	last = lastEventID(t, db)
	registerSite(t, db, "edge-a", clock.Now())
	step()
	o, err = s.Overview(ctx, edge.HealthPending)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Sites) != 1 || o.Sites[0].Site != "edge-a" || o.Sites[0].ActiveRevision != "" || !o.Sites[0].LastSeen.IsZero() {
		t.Errorf("pending sites after edge-a was enrolled again: %+v", o.Sites)
	}
	if evs := eventsAfter(t, db, last); len(evs) != 0 {
		t.Errorf("enrolling a retired site again appended %+v, want nothing", evs)
	}
	if _, _, err := s.Bundle(ctx, "edge-a", nil, 0); err != nil {
		t.Errorf("bundle of the site enrolled again: %v", err)
	}
}

func lastEventID(t *testing.T, db interface {
	LastEventID(context.Context) (int64, error)
}) int64 {
	t.Helper()
	id, err := db.LastEventID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func eventsAfter(t *testing.T, db storetest.EdgeStore, after int64) []meridian.Event {
	t.Helper()
	evs, err := db.EventsAfter(context.Background(), after, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
