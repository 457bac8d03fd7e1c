package web_test

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/web"
)

// TestFindingRecordsAPI lists the watched branch's finding records by
// state and filters; without state the route keeps listing a plan's
// findings.
func TestFindingRecordsAPI(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	h := historyHarness(t, db, web.FeedOptions{})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	record := func(branch, workload, rule string, sev meridian.Severity, state meridian.FindingState, team, target string) meridian.FindingRecord {
		f := meridian.Finding{Rule: rule, Workload: workload, Target: target, Field: "tags.owner"}
		return meridian.FindingRecord{RepoID: controlplanetest.RepoID, Branch: branch, Fingerprint: meridian.Fingerprint(f), Rule: rule, Severity: sev,
			Workload: workload, Target: target, Field: f.Field, Team: team, Message: "missing required tag", State: state,
			FirstSeen: at, LastSeen: at, FirstCommit: "c1", LastCommit: "c2"}
	}
	recs := []meridian.FindingRecord{
		record("master", "api", "MER-TAG-001", meridian.SeverityDeny, meridian.FindingOpen, "payments", ""),
		record("master", "web", "MER-TAG-001", meridian.SeverityDeny, meridian.FindingResolved, "storefront", ""),
		record("master", "etl", "MER-TAG-001", meridian.SeverityDeny, meridian.FindingWaived, "data", ""),
		record("master", "etl", "ORG-AVAIL-1", meridian.SeverityWarn, meridian.FindingOpen, "data", "aws-a"),
		// Another branch's record is not the watched branch's.
		record("feature", "api", "ORG-AVAIL-1", meridian.SeverityWarn, meridian.FindingOpen, "payments", ""),
	}
	// A live finding (meridian audit) keeps its resource.
	live := record("master@live", "api", "MER-ENC-001", meridian.SeverityDeny, meridian.FindingOpen, "payments", "aws-a")
	live.Resource = "arn:aws:s3:::api-logs"
	recs = append(recs, live)
	if _, err := db.SaveFindings(context.Background(), recs, nil); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		query  string
		status int
		want   []string // workload/rule of the records
	}{
		"open":             {"state=open", 200, []string{"api/MER-TAG-001", "etl/ORG-AVAIL-1"}},
		"resolved":         {"state=resolved", 200, []string{"web/MER-TAG-001"}},
		"waived":           {"state=waived", 200, []string{"etl/MER-TAG-001"}},
		"by team":          {"state=open&team=data", 200, []string{"etl/ORG-AVAIL-1"}},
		"by rule":          {"state=open&rule=MER-TAG-001", 200, []string{"api/MER-TAG-001"}},
		"by severity":      {"state=open&severity=warn", 200, []string{"etl/ORG-AVAIL-1"}},
		"by workload":      {"state=open&workload=api", 200, []string{"api/MER-TAG-001"}},
		"by target":        {"state=open&target=aws-a", 200, []string{"etl/ORG-AVAIL-1"}},
		"nothing matches":  {"state=open&team=nobody", 200, []string{}},
		"unknown state":    {"state=closed", 400, nil},
		"empty state":      {"state=", 400, nil},
		"unknown severity": {"state=open&severity=fatal", 400, nil},
		"unknown source":   {"state=open&source=cloud", 400, nil},
		"config source":    {"state=open&source=config", 200, []string{"api/MER-TAG-001", "etl/ORG-AVAIL-1"}},
		// Without state: a plan's findings, and this branch has no plan.
		"no state keeps the plan's findings": {"", 503, nil}, // the branch not read yet: retry
	}
	t.Run("live findings show their resource", func(t *testing.T) {
		var page struct {
			Items []map[string]any `json:"items"`
		}
		if code := h.do("GET", "/api/v1/findings?state=open&source=live", web.RoleViewer, nil, &page); code != http.StatusOK {
			t.Fatalf("got %d", code)
		}
		if len(page.Items) != 1 || page.Items[0]["resource"] != live.Resource {
			t.Errorf("items = %v, want the one live record with resource %s", page.Items, live.Resource)
		}
	})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var page struct {
				Items []meridian.FindingRecord `json:"items"`
			}
			var out any
			if tc.status == http.StatusOK {
				out = &page
			}
			if code := h.do("GET", "/api/v1/findings?"+tc.query, web.RoleViewer, nil, out); code != tc.status {
				t.Fatalf("got %d, want %d", code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			got := []string{}
			for _, r := range page.Items {
				if r.Branch != "master" || r.FirstCommit != "c1" || r.LastCommit != "c2" || !r.FirstSeen.Equal(at) {
					t.Errorf("record %+v lost its branch or lifecycle", r)
				}
				got = append(got, r.Workload+"/"+r.Rule)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCostHistoryAPI returns the watched branch's planned and applied
// cost as time series along one dimension.
func TestCostHistoryAPI(t *testing.T) {
	db := controlplanetest.OpenSQLite(t)
	h := historyHarness(t, db, web.FeedOptions{})
	ctx := context.Background()
	point := func(branch string, kind meridian.CostKind, day int, plan string, byTeam map[string]meridian.Money) meridian.CostPoint {
		var total meridian.Money
		for _, v := range byTeam {
			total += v
		}
		return meridian.CostPoint{RepoID: controlplanetest.RepoID, Branch: branch, Kind: kind, Time: time.Date(2026, 3, day, 12, 0, 0, 0, time.UTC),
			PlanID: plan, Commit: "c-" + plan, Total: total, By: map[meridian.CostDimension]map[string]meridian.Money{
				meridian.CostByTeam:   byTeam,
				meridian.CostByTarget: {"aws-a": total},
			}}
	}
	for _, p := range []meridian.CostPoint{
		point("master", meridian.CostPlanned, 1, "p1", map[string]meridian.Money{"payments": 100}),
		point("master", meridian.CostApplied, 2, "p1", map[string]meridian.Money{"payments": 100}),
		point("master", meridian.CostPlanned, 5, "p2", map[string]meridian.Money{"payments": 100, "data": 50}),
		point("feature", meridian.CostPlanned, 6, "p9", map[string]meridian.Money{"payments": 999}),
	} {
		if err := db.RecordCost(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	type series struct {
		Plan   string
		Total  meridian.Money
		Values map[string]meridian.Money
	}
	cases := map[string]struct {
		query            string
		status           int
		applied, planned []series
	}{
		"by team, all history": {"group_by=team", 200,
			[]series{{"p1", 100, map[string]meridian.Money{"payments": 100}}},
			[]series{{"p1", 100, map[string]meridian.Money{"payments": 100}}, {"p2", 150, map[string]meridian.Money{"payments": 100, "data": 50}}}},
		"default group_by is target": {"", 200,
			[]series{{"p1", 100, map[string]meridian.Money{"aws-a": 100}}},
			[]series{{"p1", 100, map[string]meridian.Money{"aws-a": 100}}, {"p2", 150, map[string]meridian.Money{"aws-a": 150}}}},
		"since a day": {"group_by=team&since=2026-03-02", 200,
			[]series{{"p1", 100, map[string]meridian.Money{"payments": 100}}},
			[]series{{"p2", 150, map[string]meridian.Money{"payments": 100, "data": 50}}}},
		"since a time": {"group_by=team&since=2026-03-04T00:00:00Z", 200,
			[]series{},
			[]series{{"p2", 150, map[string]meridian.Money{"payments": 100, "data": 50}}}},
		"planned only": {"group_by=team&kind=planned&since=2026-03-04", 200,
			[]series{},
			[]series{{"p2", 150, map[string]meridian.Money{"payments": 100, "data": 50}}}},
		"a dimension without values": {"group_by=env", 200,
			[]series{{"p1", 100, map[string]meridian.Money{}}},
			[]series{{"p1", 100, map[string]meridian.Money{}}, {"p2", 150, map[string]meridian.Money{}}}},
		"unknown group_by": {"group_by=planet", 400, nil, nil},
		"unknown kind":     {"kind=hoped", 400, nil, nil},
		"bad since":        {"since=last+week", 400, nil, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var body struct {
				GroupBy string          `json:"group_by"`
				Applied []costPointJSON `json:"applied"`
				Planned []costPointJSON `json:"planned"`
			}
			var out any
			if tc.status == http.StatusOK {
				out = &body
			}
			if code := h.do("GET", "/api/v1/costs/history?"+tc.query, web.RoleViewer, nil, out); code != tc.status {
				t.Fatalf("got %d, want %d", code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			conv := func(ps []costPointJSON) []series {
				out := []series{}
				for _, p := range ps {
					if p.Commit != "c-"+p.PlanID {
						t.Errorf("point of %s has commit %q", p.PlanID, p.Commit)
					}
					out = append(out, series{p.PlanID, p.Total, p.Values})
				}
				return out
			}
			if diff := cmp.Diff(tc.applied, conv(body.Applied)); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.planned, conv(body.Planned)); diff != "" {
				t.Errorf("planned (-want +got):\n%s", diff)
			}
		})
	}
}

// costPointJSON is a point of /api/v1/costs/history as a client reads it.
type costPointJSON struct {
	PlanID string                    `json:"plan_id"`
	Commit string                    `json:"commit"`
	Total  meridian.Money            `json:"total"`
	Values map[string]meridian.Money `json:"values"`
}

// TestHistoryDisabled: a server whose store keeps no history answers its
// history routes with 404 disabled, and the rest of the API works.
func TestHistoryDisabled(t *testing.T) {
	h := newHarness(t, harnessOptions{noRun: true})
	for _, path := range []string{"/api/v1/events", "/api/v1/costs/history", "/api/v1/findings?state=open"} {
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if code := h.do("GET", path, web.RoleViewer, nil, &body); code != http.StatusNotFound || body.Error.Code != web.EDISABLED {
			t.Errorf("GET %s: %d %q, want 404 %q", path, code, body.Error.Code, web.EDISABLED)
		}
	}
	if h.srv.EventFeed() != nil {
		t.Error("EventFeed() is not nil without a history store")
	}
	h.srv.NotifyEvents(1) // must not panic
}
