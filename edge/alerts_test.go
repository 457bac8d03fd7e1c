package edge_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/alerting/alertingtest"
	"github.com/meridianhq/meridian/edge"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/store/storetest"
)

// siteAlerts is what the alert tests of sites run on: a real
// Alertmanager, a clock set ten minutes back (a resolved alert's end, set
// by this clock, must have passed for Alertmanager to drop it), and a
// store on that clock.
type siteAlerts struct {
	am    *alertingtest.Alertmanager
	clock *storetest.Clock
	db    *sqlite.DB
}

func newSiteAlerts(t *testing.T) *siteAlerts {
	t.Helper()
	r := &siteAlerts{am: alertingtest.StartAlertmanager(t, alertingtest.Options{}), clock: storetest.NewClock()}
	r.clock.Advance(time.Since(r.clock.Now()) - 10*time.Minute)
	r.db = openSQLite(t, filepath.Join(t.TempDir(), "m.db"), r.clock.Now)
	return r
}

// service is the edge service of the store, on the head c1/p1 of repo
// r1, and a step of the alert dispatcher of the same store as `meridian
// serve` runs it, sending every alert, grouped by target, to the
// Alertmanager.
func (r *siteAlerts) service(t *testing.T) (*edge.Service, func()) {
	t.Helper()
	src := &fakeSource{}
	src.set("c1", "p1")
	s := edge.NewService(src, r.db, testKey(t), edge.Options{RepoID: "r1", Now: r.clock.Now})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := alerting.NewDispatcher(r.db, alerting.DispatcherOptions{Now: r.clock.Now})
	d.SetConfig(&alerting.Config{
		Sinks:  []alerting.SinkConfig{{Name: "am", Type: alerting.SinkAlertmanager, URL: r.am.URL}},
		Routes: []alerting.Route{{ID: "routes.0", Sinks: []string{"am"}, GroupBy: []string{alerting.GroupTarget}, GroupInterval: time.Minute, RepeatInterval: time.Hour}},
	}, map[string]alerting.Sender{"am": alerting.NewAlertmanager("am", r.am.URL, alerting.SenderOptions{Now: r.clock.Now})})
	return s, func() {
		t.Helper()
		if err := d.Step(context.Background()); err != nil {
			t.Fatalf("dispatch: %v\n%s", err, r.am.Log)
		}
	}
}

// TestSiteAlertsReachAlertmanager: a site that goes quiet fires a
// site_stale alert at a real Alertmanager, through the store's outbox and
// the dispatcher as `meridian serve` runs them, and its next report
// resolves it there.
func TestSiteAlertsReachAlertmanager(t *testing.T) {
	ctx := context.Background()
	rig := newSiteAlerts(t)
	am, clock := rig.am, rig.clock
	registerSite(t, rig.db, "edge-a", clock.Now())
	s, step := rig.service(t)
	onHead := []byte(`{"labels":{"id":"opa-1"},"bundles":{"meridian":{"active_revision":"` + edge.Revision("c1", "p1") + `"}}}`)
	if err := s.Report(ctx, "edge-a", onHead); err != nil {
		t.Fatal(err)
	}
	clock.Advance(4 * time.Minute)
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	step()

	got := am.Alerts(t)
	type seen struct{ Alertname, Source, Severity, Target, Summary string }
	var gotSeen []seen
	for _, a := range got {
		gotSeen = append(gotSeen, seen{a.Labels["alertname"], a.Labels["source"], a.Labels["severity"], a.Labels["target"], a.Annotations["summary"]})
	}
	want := []seen{{alerting.SiteStale, "site", "warn", "edge-a", "edge site edge-a has not reported for 4m0s; it last ran revision " + edge.Revision("c1", "p1")}}
	if diff := cmp.Diff(want, gotSeen); diff != "" {
		t.Fatalf("Alertmanager's alerts after the site went quiet (-want +got):\n%s\n%s", diff, am.Log)
	}

	if err := s.Report(ctx, "edge-a", onHead); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // the group's interval
	step()
	deadline := time.Now().Add(10 * time.Second)
	for len(am.Alerts(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager still holds %+v after the site reported again", am.Alerts(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
