package alerting_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
)

// siteEvent is an edge.site_* event of site in repo r1 as the edge
// service appends it.
func siteEvent(typ meridian.EventType, site string, payload map[string]any) meridian.Event {
	payload["site"] = site
	b, _ := json.Marshal(payload)
	return meridian.Event{Type: typ, RepoID: "r1", Commit: "c1", PlanID: "p1", Target: site, Payload: b}
}

// TestSiteHealthAlerts: each unhealthy state of an edge site is an alert
// of its own kind; moving to another state resolves the one it left, and
// recovering, or being retired, resolves them all.
func TestSiteHealthAlerts(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	t0 := h.clock.Now()
	h.append(siteEvent(meridian.EventEdgeSiteBehind, "edge-a", map[string]any{"health": "behind", "previous": "ok",
		"active_revision": "c0-p0", "head_revision": "c1-p1", "behind_since": t0.Add(-90 * time.Second)}))
	h.append(siteEvent(meridian.EventEdgeSiteStale, "edge-b", map[string]any{"health": "stale", "previous": "ok",
		"active_revision": "c1-p1", "head_revision": "c1-p1", "last_seen": t0.Add(-4 * time.Minute)}))
	h.advance(11 * time.Second)
	h.append(siteEvent(meridian.EventEdgeSiteFailing, "edge-a", map[string]any{"health": "failing", "previous": "behind",
		"active_revision": "c0-p0", "error_code": "bundle_error", "error_message": "signature verification failed"}))
	h.advance(time.Minute)
	h.append(siteEvent(meridian.EventEdgeSiteRecovered, "edge-a", map[string]any{"health": "ok", "previous": "failing", "active_revision": "c1-p1"}))
	// Retired (its last credential revoked): nobody will report again.
	h.append(siteEvent(meridian.EventEdgeSiteRetired, "edge-b", map[string]any{"health": "retired", "previous": "stale", "active_revision": "c1-p1"}))
	h.advance(time.Minute)

	want := []summary{
		{Alerts: []string{"site_behind@edge-a:firing", "site_stale@edge-b:firing"}},
		{Alerts: []string{"site_behind@edge-a:resolved", "site_failing@edge-a:firing", "site_stale@edge-b:firing"}},
		{Alerts: []string{"site_failing@edge-a:resolved", "site_stale@edge-b:resolved"}},
	}
	bodies := h.recv.delivered(t)
	if diff := cmp.Diff(want, summarize(bodies), sortAlerts); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	byName := map[string]meridian.Alert{}
	for _, a := range bodies[1].Alerts {
		byName[a.Name] = a
	}
	type seen struct {
		Source   meridian.AlertSource
		Severity meridian.Severity
		Summary  string
	}
	got := map[string]seen{}
	for name, a := range byName {
		got[name] = seen{a.Source, a.Severity, a.Summary}
		if a.Remediation == "" || a.Commit != "c1" {
			t.Errorf("%s: remediation %q, commit %q: want what to do, and the head's commit", name, a.Remediation, a.Commit)
		}
	}
	wantSeen := map[string]seen{
		alerting.SiteBehind:  {meridian.AlertSourceSite, meridian.SeverityWarn, "edge site edge-a runs revision c0-p0, behind the head's c1-p1 for 1m30s"},
		alerting.SiteFailing: {meridian.AlertSourceSite, meridian.SeverityDeny, "edge site edge-a fails to load its bundle (bundle_error: signature verification failed); it keeps deciding with revision c0-p0"},
		alerting.SiteStale:   {meridian.AlertSourceSite, meridian.SeverityWarn, "edge site edge-b has not reported for 4m0s; it last ran revision c1-p1"},
	}
	if diff := cmp.Diff(wantSeen, got); diff != "" {
		t.Errorf("alerts of the second message (-want +got):\n%s", diff)
	}
	if firing := h.alerts(meridian.AlertFiring); len(firing) != 0 {
		t.Errorf("firing after one site recovered and the other was retired: %+v", firing)
	}
}

// TestSiteAlertRoutes: routes and silences select site alerts by their
// source and kind, as documented.
func TestSiteAlertRoutes(t *testing.T) {
	cfg, err := alerting.Parse(alerting.FileName, []byte(`apiVersion: meridian/v1
kind: Alerting
sinks:
  - {name: edge-oncall, type: alertmanager, url: "http://127.0.0.1:9093"}
  - {name: all, type: alertmanager, url: "http://127.0.0.1:9094"}
routes:
  - {sources: [site], rules: [site_stale, site_failing], sinks: [edge-oncall]}
default_sinks: [all]
`))
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string]string{alerting.SiteStale: "edge-oncall", alerting.SiteFailing: "edge-oncall", alerting.SiteBehind: "all"} {
		var sinks []string
		for _, r := range cfg.Match(meridian.Alert{Source: meridian.AlertSourceSite, Name: kind, Target: "edge-a"}) {
			sinks = append(sinks, r.Sinks...)
		}
		if strings.Join(sinks, ",") != want {
			t.Errorf("%s goes to %v, want %s", kind, sinks, want)
		}
	}
}
