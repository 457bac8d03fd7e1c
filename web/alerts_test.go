package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/web"
)

// fakeAlerts is the dispatcher as the API sees it.
type fakeAlerts struct {
	mu       sync.Mutex
	alerts   []meridian.Alert
	filters  []store.AlertFilter
	dead     []store.AlertDelivery
	replayed []int64
	sent     []string
}

func (f *fakeAlerts) ListAlerts(_ context.Context, fl store.AlertFilter) ([]meridian.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, fl)
	var out []meridian.Alert
	for _, a := range f.alerts {
		if fl.State == "" || a.State == fl.State {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeAlerts) ListDeadLetters(context.Context, int) ([]store.AlertDelivery, error) {
	return f.dead, nil
}

func (f *fakeAlerts) ReplayDeadLetter(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != 7 {
		return meridian.Errorf(meridian.ENOTFOUND, "no dead letter %d", id)
	}
	f.replayed = append(f.replayed, id)
	return nil
}

func (f *fakeAlerts) SendTest(_ context.Context, sink string) (alerting.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sink != "am" {
		return alerting.Message{}, meridian.Errorf(meridian.ENOTFOUND, "no sink %q in alerting.yaml", sink)
	}
	f.sent = append(f.sent, sink)
	return alerting.Message{Key: "test-am-1", Sink: sink}, nil
}

func TestAlertRoutes(t *testing.T) {
	fa := &fakeAlerts{
		alerts: []meridian.Alert{{ID: "a1", Name: "MER-TAG-001", State: meridian.AlertFiring, Target: "aws-a", Team: "t"},
			{ID: "a2", Name: "drift", State: meridian.AlertResolved, Target: "none", Team: "t"}},
		dead: []store.AlertDelivery{{ID: 7, Key: "k7", Sink: "am", Status: store.DeliveryDead, Attempts: 12, LastError: "HTTP 500",
			Message: []byte(`{"key":"k7"}`), CreatedAt: time.Now()}},
	}
	db := controlplanetest.OpenSQLite(t)
	h := newHarness(t, harnessOptions{server: web.Options{Alerts: fa, AlertTester: fa, Silences: db}})

	var firing struct{ Items []meridian.Alert }
	if code := h.do("GET", "/api/v1/alerts?state=firing", web.RoleViewer, nil, &firing); code != 200 || len(firing.Items) != 1 || firing.Items[0].ID != "a1" {
		t.Errorf("alerts?state=firing: %d %+v", code, firing)
	}
	if fa.filters[0].RepoID != controlplanetest.RepoID {
		t.Errorf("alerts listed for repo %q, want the server's", fa.filters[0].RepoID)
	}
	var e struct{ Error struct{ Message string } }
	if code := h.do("GET", "/api/v1/alerts?state=bogus", web.RoleViewer, nil, &e); code != 400 || !strings.Contains(e.Error.Message, "firing, resolved or silenced") {
		t.Errorf("alerts?state=bogus: %d %+v", code, e)
	}

	cases := map[string]struct {
		method, path string
		role         web.Role
		body         any
		want         int
	}{
		"test by a viewer":            {"POST", "/api/v1/alerts/test", web.RoleViewer, map[string]string{"sink": "am"}, 403},
		"test of an unknown sink":     {"POST", "/api/v1/alerts/test", web.RoleOperator, map[string]string{"sink": "nope"}, 404},
		"test without a sink":         {"POST", "/api/v1/alerts/test", web.RoleOperator, map[string]string{}, 400},
		"test":                        {"POST", "/api/v1/alerts/test", web.RoleOperator, map[string]string{"sink": "am"}, 200},
		"dead letters":                {"GET", "/api/v1/alerts/dead-letters", web.RoleViewer, nil, 200},
		"replay by a viewer":          {"POST", "/api/v1/alerts/dead-letters/7/replay", web.RoleViewer, nil, 403},
		"replay of a bad ID":          {"POST", "/api/v1/alerts/dead-letters/x/replay", web.RoleOperator, nil, 400},
		"replay of an unknown letter": {"POST", "/api/v1/alerts/dead-letters/8/replay", web.RoleOperator, nil, 404},
		"replay":                      {"POST", "/api/v1/alerts/dead-letters/7/replay", web.RoleOperator, nil, 200},
	}
	for name, tc := range cases {
		if code := h.do(tc.method, tc.path, tc.role, tc.body, nil); code != tc.want {
			t.Errorf("%s: %s %s: %d, want %d", name, tc.method, tc.path, code, tc.want)
		}
	}
	if diff := cmp.Diff([]string{"am"}, fa.sent); diff != "" {
		t.Errorf("test messages sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{7}, fa.replayed); diff != "" {
		t.Errorf("replayed (-want +got):\n%s", diff)
	}
	var dead struct {
		Items []struct {
			ID        int64
			Key, Sink string
			Attempts  int
		}
	}
	h.do("GET", "/api/v1/alerts/dead-letters", web.RoleViewer, nil, &dead)
	if len(dead.Items) != 1 || dead.Items[0].Key != "k7" || dead.Items[0].Attempts != 12 {
		t.Errorf("dead letters: %+v", dead)
	}
	audited := map[string]bool{}
	var audit struct {
		Items []struct{ Action, Actor string }
	}
	h.do("GET", "/api/v1/audit", web.RoleViewer, nil, &audit)
	for _, a := range audit.Items {
		audited[a.Action] = true
	}
	for _, want := range []string{"alert.test", "alert.replay"} {
		if !audited[want] {
			t.Errorf("audit log lacks %s: %+v", want, audit.Items)
		}
	}
}

func TestSilenceRoutes(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	h := newHarness(t, harnessOptions{server: web.Options{Silences: db}})
	bad := map[string]struct {
		body map[string]any
		want string
	}{
		"no matcher":      {map[string]any{"matchers": map[string]string{}, "duration": "2h", "comment": "x"}, "at least one matcher"},
		"unknown label":   {map[string]any{"matchers": map[string]string{"colour": "red"}, "duration": "2h", "comment": "x"}, "unknown label"},
		"bad duration":    {map[string]any{"matchers": map[string]string{"name": "drift"}, "duration": "soon", "comment": "x"}, "Go duration"},
		"too long":        {map[string]any{"matchers": map[string]string{"name": "drift"}, "duration": "10000h", "comment": "x"}, "at most"},
		"no comment":      {map[string]any{"matchers": map[string]string{"name": "drift"}, "duration": "2h"}, "comment"},
		"unknown field":   {map[string]any{"matchers": map[string]string{"name": "drift"}, "duration": "2h", "comment": "x", "until": "x"}, "unknown field"},
		"bad severity":    {map[string]any{"matchers": map[string]string{"severity": "loud"}, "duration": "2h", "comment": "x"}, "deny, warn or info"},
		"empty matcher":   {map[string]any{"matchers": map[string]string{"workload": " "}, "duration": "2h", "comment": "x"}, "empty"},
		"negative length": {map[string]any{"matchers": map[string]string{"name": "drift"}, "duration": "-1h", "comment": "x"}, "positive"},
	}
	for name, tc := range bad {
		var e struct{ Error struct{ Message string } }
		if code := h.do("POST", "/api/v1/silences", web.RoleOperator, tc.body, &e); code != 400 || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("%s: %d %q, want 400 saying %q", name, code, e.Error.Message, tc.want)
		}
	}
	body := map[string]any{"matchers": map[string]string{"name": "MER-TAG-001", "workload": "docs-site"}, "duration": "2h", "comment": "owner tag lands tomorrow"}
	if code := h.do("POST", "/api/v1/silences", web.RoleViewer, body, nil); code != 403 {
		t.Errorf("a viewer created a silence: %d", code)
	}
	var sil meridian.Silence
	if code := h.do("POST", "/api/v1/silences", web.RoleOperator, body, &sil); code != 201 || sil.ID == "" || sil.Name != "MER-TAG-001" ||
		sil.Workload != "docs-site" || sil.CreatedBy != "api:t-operator" || sil.EndsAt.Sub(sil.StartsAt) != 2*time.Hour {
		t.Fatalf("create: %d %+v", code, sil)
	}
	var active struct{ Items []meridian.Silence }
	if h.do("GET", "/api/v1/silences?active=true", web.RoleViewer, nil, &active); len(active.Items) != 1 || active.Items[0].ID != sil.ID {
		t.Errorf("active silences: %+v", active)
	}
	var expired meridian.Silence
	if code := h.do("DELETE", "/api/v1/silences/"+sil.ID, web.RoleOperator, nil, &expired); code != 200 || expired.ExpiredAt.IsZero() {
		t.Errorf("expire: %d %+v", code, expired)
	}
	if h.do("GET", "/api/v1/silences?active=true", web.RoleViewer, nil, &active); len(active.Items) != 0 {
		t.Errorf("still active after expiry: %+v", active)
	}
	if code := h.do("DELETE", "/api/v1/silences/nope", web.RoleOperator, nil, nil); code != 404 {
		t.Errorf("expire of an unknown silence: %d", code)
	}
	var audit struct {
		Items []struct{ Action, Actor, Detail string }
	}
	h.do("GET", "/api/v1/audit?action=silence.create", web.RoleViewer, nil, &audit)
	if len(audit.Items) != 1 || audit.Items[0].Actor != "api:t-operator" || !strings.Contains(audit.Items[0].Detail, "name=MER-TAG-001 workload=docs-site") {
		t.Errorf("silence.create audit: %+v", audit.Items)
	}
	h.do("GET", "/api/v1/audit?action=silence.expire", web.RoleViewer, nil, &audit)
	if len(audit.Items) != 1 {
		t.Errorf("silence.expire audit: %+v", audit.Items)
	}
}

// TestAlertRoutesWithoutAlerting: a server without a dispatcher still
// serves the routes, answering 503 rather than 404 or a panic.
func TestAlertRoutesWithoutAlerting(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, p := range []string{"/api/v1/alerts", "/api/v1/alerts/dead-letters", "/api/v1/silences"} {
		if code := h.do("GET", p, web.RoleViewer, nil, nil); code != http.StatusServiceUnavailable {
			t.Errorf("GET %s: %d, want 503", p, code)
		}
	}
}
