package edge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/bundle"
	"github.com/open-policy-agent/opa/v1/plugins/status"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/edge"
)

// opaReport is a status report as OPA's status plugin marshals it
// (status.UpdateRequestV1): bundles nil is the report an agent sends as
// it starts, before its bundle plugin has tried a download.
func opaReport(t *testing.T, bundleState plugins.State, bundles map[string]*bundle.Status) []byte {
	t.Helper()
	b, err := json.Marshal(status.UpdateRequestV1{
		Labels: map[string]string{"id": "opa-1", "version": "1.22.0"},
		Plugins: map[string]*plugins.Status{
			"bundle": {State: bundleState},
			"status": {State: plugins.StateOK},
		},
		Bundles: bundles,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReportBeforeFirstBundle: an agent reports as soon as it starts, and
// when it cannot reach the bundle endpoint yet; the server takes each
// report and shows the site as seen, without a bundle, rather than
// refusing it (which OPA only logs as "server replied with HTTP 400").
func TestReportBeforeFirstBundle(t *testing.T) {
	type want struct {
		Err      string
		Health   string
		Revision string
		ErrCode  string
	}
	rev := edge.Revision("c1", "p1")
	onHead := func(t *testing.T) []byte {
		return opaReport(t, plugins.StateOK, map[string]*bundle.Status{edge.BundleName: {Name: edge.BundleName, ActiveRevision: rev}})
	}
	cases := map[string]struct {
		reason string
		// before is reported first (nil: the site never reported).
		before func(t *testing.T) []byte
		report func(t *testing.T) []byte
		want   want
	}{
		"boot report, never fetched": {
			reason: "the first report of a new agent carries no bundle status: the site is seen, runs no revision, and is syncing until --edge-behind-after",
			report: func(t *testing.T) []byte { return opaReport(t, plugins.StateNotReady, nil) },
			want:   want{Health: edge.HealthSyncing},
		},
		"boot report, empty bundles": {
			reason: "an empty bundles object says no more than none",
			report: func(*testing.T) []byte { return []byte(`{"labels":{"id":"opa-1"},"bundles":{}}`) },
			want:   want{Health: edge.HealthSyncing},
		},
		"restart without a persisted bundle": {
			reason: "an agent restarted without persistence runs no bundle until it downloads one: its old revision no longer holds",
			before: onHead,
			report: func(t *testing.T) []byte { return opaReport(t, plugins.StateNotReady, nil) },
			want:   want{Health: edge.HealthSyncing},
		},
		"restart with its persisted bundle": {
			reason: "an agent that activated its persisted bundle at start (bundle plugin OK) still runs the revision it last reported",
			before: onHead,
			report: func(t *testing.T) []byte { return opaReport(t, plugins.StateOK, nil) },
			want:   want{Health: "ok", Revision: rev},
		},
		"agent without Meridian's bundle": {
			reason: "an agent configured with other bundles only enforces none of the site's policies: the site fails, with the cause",
			report: func(t *testing.T) []byte {
				return opaReport(t, plugins.StateOK, map[string]*bundle.Status{"authz": {Name: "authz", ActiveRevision: "v9"}})
			},
			want: want{Health: "failing", ErrCode: edge.CodeBundleNotConfigured},
		},
		"not a status report": {
			reason: "a body that is not OPA's status JSON is still refused",
			report: func(*testing.T) []byte { return []byte(`["not", "a", "report"]`) },
			want:   want{Err: meridian.EINVALID, Health: edge.HealthPending},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, src, _ := newService(t)
			src.set("c1", "p1")
			if err := s.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				if err := s.Report(ctx, "edge-a", tc.before(t)); err != nil {
					t.Fatal(err)
				}
			}
			err := s.Report(ctx, "edge-a", tc.report(t))
			o, oerr := s.Overview(ctx, "")
			if oerr != nil {
				t.Fatal(oerr)
			}
			v := o.Sites[0]
			got := want{Err: meridian.ErrorCode(err), Health: v.Health, Revision: v.ActiveRevision}
			if v.Error != nil {
				got.ErrCode = v.Error.Code
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
			if tc.want.Err == "" && (v.LastSeen.IsZero() || v.AgentID != "opa-1") {
				t.Errorf("the report was not recorded: last seen %v, agent %q", v.LastSeen, v.AgentID)
			}
		})
	}
}

// TestReportWithoutBundleTurnsBehind: a site whose agent reports but
// never gets a bundle runs none of the site's policies; once the grace
// period is over it is behind, and says so in the feed.
func TestReportWithoutBundleTurnsBehind(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	s, src, db := newServiceAt(t, func() time.Time { return now })
	src.set("c1", "p1")
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Report(ctx, "edge-a", opaReport(t, plugins.StateNotReady, nil)); err != nil {
		t.Fatalf("boot report: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if err := s.Report(ctx, "edge-a", opaReport(t, plugins.StateNotReady, nil)); err != nil {
		t.Fatal(err)
	}
	evs, err := db.EventsAfter(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != meridian.EventEdgeSiteBehind {
		t.Fatalf("events = %+v, want one edge.site_behind", evs)
	}
	var p struct {
		ActiveRevision string `json:"active_revision"`
		HeadRevision   string `json:"head_revision"`
	}
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil || p.ActiveRevision != "" || p.HeadRevision != edge.Revision("c1", "p1") {
		t.Errorf("payload = %s (%v), want no active revision against the head", evs[0].Payload, err)
	}
}

// TestParseReportErrorText: the bundle's message and its errors' are kept
// as one text, bounded however many errors a report lists.
func TestParseReportErrorText(t *testing.T) {
	many := make([]map[string]string, 12000) // near MaxStatusBytes
	for i := range many {
		many[i] = map[string]string{"message": "e"}
	}
	cases := map[string]struct {
		message string
		errors  any
		want    func(string) bool
	}{
		"message and errors": {message: "verification failed", errors: []map[string]string{{"message": "a"}, {"message": "b"}},
			want: func(s string) bool { return s == "verification failed; a; b" }},
		"errors only": {errors: []map[string]string{{"message": "a"}, {"message": "b"}},
			want: func(s string) bool { return s == "a; b" }},
		"many errors": {errors: many,
			want: func(s string) bool { return len(s) <= 1024+len("…") && strings.HasPrefix(s, "e; e; e") }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"bundles": map[string]any{edge.BundleName: map[string]any{
				"name": edge.BundleName, "code": "bundle_error", "message": tc.message, "errors": tc.errors}}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := edge.ParseReport(body)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(r.Message) || r.Code != "bundle_error" {
				t.Errorf("Message %q (%d bytes), Code %q", r.Message[:min(len(r.Message), 80)], len(r.Message), r.Code)
			}
		})
	}
}
