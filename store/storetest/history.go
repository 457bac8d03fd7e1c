package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/history"
	"github.com/meridianhq/meridian/store"
)

// testHistory runs the checks of store.History: the event log, the
// finding lifecycle, cost history and drift records.
func testHistory(t *testing.T, open Opener) {
	t.Run("Events", func(t *testing.T) { testEvents(t, open) })
	t.Run("EventsConcurrent", func(t *testing.T) { testEventsConcurrent(t, open) })
	t.Run("Findings", func(t *testing.T) { testFindings(t, open) })
	t.Run("Costs", func(t *testing.T) { testCosts(t, open) })
	t.Run("DriftRecords", func(t *testing.T) { testDriftRecords(t, open) })
	t.Run("DriftCarried", func(t *testing.T) { testDriftCarried(t, open) })
	t.Run("ListDrift", func(t *testing.T) { testListDrift(t, open) })
}

func ids(evs []meridian.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func types(evs []meridian.Event) []meridian.EventType {
	var out []meridian.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func testEvents(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	in := []meridian.Event{
		{Type: meridian.EventPlanCreated, RepoID: "r1", Branch: "main", Commit: "c1", PlanID: "p1", Payload: json.RawMessage(`{"total":12.5}`)},
		{Type: meridian.EventLockAcquired, RepoID: "r1", Target: "aws-eu", RunID: "run1"},
	}
	got, err := s.AppendEvents(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID <= 0 || got[1].ID <= got[0].ID || !got[0].Time.Equal(c.Now()) {
		t.Fatalf("AppendEvents = %+v, want two events with increasing IDs at the store's time %s", got, c.Now())
	}
	all, err := s.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, all); diff != "" {
		t.Errorf("EventsAfter(0) does not return what AppendEvents stored (-want +got):\n%s", diff)
	}

	// A bad event refuses the whole batch.
	if _, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyStarted}, {Type: "apply.exploded"}}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("AppendEvents with an unknown type = %v, want EINVALID", err)
	}
	if _, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyStarted, Payload: json.RawMessage(`{`)}}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("AppendEvents with a payload that is not JSON = %v, want EINVALID", err)
	}

	c.Advance(time.Hour)
	more, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventApplyStarted}, {Type: meridian.EventApplySucceeded}, {Type: meridian.EventLockReleased}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.EventsAfter(ctx, got[1].ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(more[:2]), ids(after)); diff != "" {
		t.Errorf("EventsAfter(%d, limit 2) (-want +got IDs); the refused batches must have left nothing:\n%s", got[1].ID, diff)
	}

	// Pruning deletes by age; IDs are never reused, even for the newest.
	n, err := s.PruneEvents(ctx, c.Now())
	if err != nil || n != 2 {
		t.Errorf("PruneEvents = %d, %v; want the 2 events older than an hour", n, err)
	}
	c.Advance(time.Hour)
	if n, err := s.PruneEvents(ctx, c.Now()); err != nil || n != 3 {
		t.Errorf("PruneEvents = %d, %v; want the 3 remaining events", n, err)
	}
	next, err := s.AppendEvents(ctx, []meridian.Event{{Type: meridian.EventMoveStarted}})
	if err != nil {
		t.Fatal(err)
	}
	if next[0].ID <= more[2].ID {
		t.Errorf("after pruning every event, a new event got ID %d, not above the last one ever (%d)", next[0].ID, more[2].ID)
	}
	rest, err := s.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{next[0].ID}, ids(rest)); diff != "" {
		t.Errorf("EventsAfter(0) after pruning (-want +got):\n%s", diff)
	}
}

// testEventsConcurrent appends from several goroutines at once: every
// event gets a unique ID, each batch's IDs keep its order, and the log read
// back is strictly increasing with nothing missing.
func testEventsConcurrent(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	const writers, batches, size = 8, 10, 3
	var mu sync.Mutex
	var appended []int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]meridian.Event, size)
				for i := range batch {
					batch[i] = meridian.Event{Type: meridian.EventLockAcquired, RunID: fmt.Sprintf("w%d-b%d-%d", w, b, i)}
				}
				got, err := s.AppendEvents(ctx, batch)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for i := 1; i < len(got); i++ {
					if got[i].ID <= got[i-1].ID {
						t.Errorf("writer %d: batch IDs %v not increasing", w, ids(got))
					}
				}
				mu.Lock()
				appended = append(appended, ids(got)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	all, err := s.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*batches*size || len(appended) != len(all) {
		t.Fatalf("%d events in the log, %d appended; want %d", len(all), len(appended), writers*batches*size)
	}
	seen := map[int64]bool{}
	for i, e := range all {
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("event %d: ID %d not above %d", i, e.ID, all[i-1].ID)
		}
		seen[e.ID] = true
	}
	for _, id := range appended {
		if !seen[id] {
			t.Errorf("appended ID %d is not in the log", id)
		}
	}
	// Paging through the log with the last ID seen visits every event once.
	var paged []int64
	for after := int64(0); ; {
		page, err := s.EventsAfter(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, ids(page)...)
		after = page[len(page)-1].ID
	}
	if diff := cmp.Diff(ids(all), paged); diff != "" {
		t.Errorf("paging by last ID (-want +got):\n%s", diff)
	}
}

func testFindings(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	tag := meridian.Finding{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "api", Field: "tags.owner",
		File: "workloads/api.yaml", Line: 3, Message: `missing required tag "owner"`,
		// A live finding's resource and remediation are kept with its
		// record: no plan holds them.
		Source: meridian.FindingSourceLive, Resource: "arn:aws:s3:::api-logs", Remediation: "Add the owner tag to bucket api-logs."}
	fmtF := meridian.Finding{Rule: "MER-TAG-002", Severity: meridian.SeverityWarn, Workload: "web", Field: "tags.env",
		File: "workloads/web.yaml", Line: 4, Message: "env must match prod|dev"}
	waiver := meridian.Waiver{Rule: "MER-TAG-002", Workload: "web", Reason: "rename pending", Owner: "bob",
		Expires: c.Now().Truncate(24*time.Hour).AddDate(0, 1, 0), Origin: meridian.Origin{File: "waivers/web.yaml", Line: 1}}
	teams := map[string]string{"api": "payments", "web": "frontend"}

	step := func(commit string, fs []meridian.Finding) ([]meridian.FindingRecord, []meridian.Event) {
		t.Helper()
		prev, err := s.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: "main"})
		if err != nil {
			t.Fatal(err)
		}
		next, evs := history.Transition(prev, history.Input{RepoID: "r1", Branch: "main", Commit: commit, Now: c.Now(),
			Findings: fs, Waivers: []meridian.Waiver{waiver}, Teams: teams})
		saved, err := s.SaveFindings(ctx, next, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range saved {
			if e.ID == 0 || (i > 0 && e.ID <= saved[i-1].ID) {
				t.Errorf("SaveFindings events %v: want increasing IDs", ids(saved))
			}
		}
		return next, saved
	}

	next, evs := step("c1", []meridian.Finding{tag, fmtF})
	if diff := cmp.Diff([]meridian.EventType{meridian.EventFindingOpened, meridian.EventFindingWaived}, sortedTypes(evs)); diff != "" {
		t.Errorf("first plan's events (-want +got):\n%s", diff)
	}
	got, err := s.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("FindingRecords does not return what SaveFindings stored (-want +got):\n%s", diff)
	}
	for name, tc := range map[string]struct {
		f    store.FindingFilter
		want []string
	}{
		"waived":   {store.FindingFilter{RepoID: "r1", Branch: "main", State: meridian.FindingWaived}, []string{"MER-TAG-002"}},
		"team":     {store.FindingFilter{RepoID: "r1", Team: "payments"}, []string{"MER-TAG-001"}},
		"severity": {store.FindingFilter{RepoID: "r1", Severity: meridian.SeverityWarn}, []string{"MER-TAG-002"}},
		"rule":     {store.FindingFilter{RepoID: "r1", Rule: "MER-TAG-001", Workload: "api"}, []string{"MER-TAG-001"}},
		"branch":   {store.FindingFilter{RepoID: "r1", Branch: "dev"}, nil},
	} {
		recs, err := s.FindingRecords(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, r := range recs {
			rules = append(rules, r.Rule)
		}
		if diff := cmp.Diff(tc.want, rules); diff != "" {
			t.Errorf("filter %s (-want +got):\n%s", name, diff)
		}
	}

	c.Advance(time.Hour)
	_, evs = step("c2", []meridian.Finding{tag})
	if diff := cmp.Diff([]meridian.EventType{meridian.EventFindingResolved}, types(evs)); diff != "" {
		t.Errorf("second plan's events (-want +got):\n%s", diff)
	}
	got, err = s.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		switch r.Rule {
		case "MER-TAG-001":
			if r.State != meridian.FindingOpen || r.FirstCommit != "c1" || r.LastCommit != "c2" || !r.LastSeen.Equal(c.Now()) {
				t.Errorf("still-open record %+v: want open, first commit c1, last commit c2", r)
			}
		case "MER-TAG-002":
			if r.State != meridian.FindingResolved || r.ResolvedCommit != "c2" || !r.ResolvedAt.Equal(c.Now()) || r.Waiver == nil {
				t.Errorf("resolved record %+v: want resolved at c2, keeping its waiver", r)
			}
		}
	}

	// A transition is all or nothing: a bad event leaves the records as
	// they were.
	changed := got[0]
	changed.State, changed.LastCommit = meridian.FindingResolved, "c3"
	if _, err := s.SaveFindings(ctx, []meridian.FindingRecord{changed}, []meridian.Event{{Type: "finding.vanished"}}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("SaveFindings with a bad event = %v, want EINVALID", err)
	}
	after, err := s.FindingRecords(ctx, store.FindingFilter{RepoID: "r1", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, after); diff != "" {
		t.Errorf("a refused transition changed the records (-want +got):\n%s", diff)
	}
	logged, err := s.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 3 {
		t.Errorf("event log holds %v, want the 3 finding events", types(logged))
	}
}

func sortedTypes(evs []meridian.Event) []meridian.EventType {
	out := types(evs)
	slices.Sort(out)
	return out
}

func testCosts(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	t0 := c.Now()
	points := []meridian.CostPoint{
		{RepoID: "r1", Branch: "main", Kind: meridian.CostPlanned, PlanID: "p1", Commit: "c1", Total: 150, By: map[meridian.CostDimension]map[string]meridian.Money{
			meridian.CostByTeam: {"payments": 100, "frontend": 50}, meridian.CostByProvider: {"aws": 150},
		}},
		{RepoID: "r1", Branch: "main", Kind: meridian.CostApplied, PlanID: "p1", Commit: "c1", Time: t0.Add(time.Minute), Total: 150, By: map[meridian.CostDimension]map[string]meridian.Money{
			meridian.CostByTeam: {"payments": 100, "frontend": 50}, meridian.CostByProvider: {"aws": 150},
		}},
		{RepoID: "r1", Branch: "main", Kind: meridian.CostPlanned, PlanID: "p2", Commit: "c2", Time: t0.Add(time.Hour), Total: 0, By: map[meridian.CostDimension]map[string]meridian.Money{}},
		{RepoID: "r2", Kind: meridian.CostPlanned, PlanID: "x", Time: t0, Total: 9, By: map[meridian.CostDimension]map[string]meridian.Money{meridian.CostByTeam: {"ops": 9}}},
	}
	for _, p := range points {
		if err := s.RecordCost(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordCost(ctx, meridian.CostPoint{RepoID: "r1", Kind: "guessed"}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("RecordCost with an unknown kind = %v, want EINVALID", err)
	}
	got, err := s.CostHistory(ctx, store.CostFilter{RepoID: "r1", Dimension: meridian.CostByTeam})
	if err != nil {
		t.Fatal(err)
	}
	team := func(p meridian.CostPoint, by map[string]meridian.Money, at time.Time) meridian.CostPoint {
		p.Time = at
		p.By = map[meridian.CostDimension]map[string]meridian.Money{meridian.CostByTeam: by}
		return p
	}
	want := []meridian.CostPoint{
		team(points[0], map[string]meridian.Money{"payments": 100, "frontend": 50}, t0),
		team(points[1], map[string]meridian.Money{"payments": 100, "frontend": 50}, t0.Add(time.Minute)),
		team(points[2], map[string]meridian.Money{}, t0.Add(time.Hour)),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CostHistory by team, oldest first (-want +got):\n%s", diff)
	}
	got, err = s.CostHistory(ctx, store.CostFilter{RepoID: "r1", Kind: meridian.CostPlanned, Since: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PlanID != "p2" {
		t.Errorf("CostHistory planned since t0+1s = %+v, want p2 only", got)
	}
	got, err = s.CostHistory(ctx, store.CostFilter{RepoID: "r1", Kind: meridian.CostApplied})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].By) != 2 || got[0].By[meridian.CostByProvider]["aws"] != 150 {
		t.Errorf("CostHistory applied, every dimension = %+v, want p1 with team and provider", got)
	}
	if _, err := s.CostHistory(ctx, store.CostFilter{Dimension: "colour"}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("CostHistory with an unknown dimension = %v, want EINVALID", err)
	}
}

func testDriftRecords(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	t0 := c.Now()
	tf := []meridian.DriftEngine{meridian.DriftEngineTerraform}
	bucket := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "aws-eu", Resource: "aws_s3_bucket.logs", Action: "change",
		Expected: `{"versioning":true}`, Actual: `{"versioning":false}`}
	role := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "aws-eu", Resource: "aws_iam_role.app", Action: "remove"}
	app := meridian.DriftRecord{Engine: meridian.DriftEngineArgoCD, Target: "aws-eu", Workload: "api", Resource: "api-aws-eu", Action: "out-of-sync"}

	evs, err := s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{bucket, role})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]meridian.EventType{meridian.EventDriftOpened, meridian.EventDriftOpened}, types(evs)); diff != "" {
		t.Errorf("first check's events (-want +got):\n%s", diff)
	}
	if _, err := s.SyncDrift(ctx, "r1", []meridian.DriftEngine{meridian.DriftEngineArgoCD}, []meridian.DriftRecord{app}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{app}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("SyncDrift of an engine it did not check = %v, want EINVALID", err)
	}

	// The next Terraform check still sees the bucket, no longer the role,
	// and says nothing about Argo CD, whose record stays open.
	c.Advance(time.Hour)
	bucket.Actual = `{"versioning":"suspended"}`
	evs, err = s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != meridian.EventDriftCleared || evs[0].ID == 0 {
		t.Fatalf("second check's events = %+v, want one drift.cleared with an ID", evs)
	}
	var cleared meridian.DriftRecord
	if err := json.Unmarshal(evs[0].Payload, &cleared); err != nil || cleared.Resource != role.Resource || !cleared.ClearedAt.Equal(c.Now()) {
		t.Errorf("drift.cleared payload %s (%v): want the role, cleared now", evs[0].Payload, err)
	}
	open1, err := s.OpenDrift(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := []meridian.DriftRecord{
		{Engine: meridian.DriftEngineArgoCD, RepoID: "r1", Target: "aws-eu", Workload: "api", Resource: "api-aws-eu", Action: "out-of-sync", FirstSeen: t0, LastSeen: t0},
		{Engine: meridian.DriftEngineTerraform, RepoID: "r1", Target: "aws-eu", Resource: "aws_s3_bucket.logs", Action: "change",
			Expected: `{"versioning":true}`, Actual: `{"versioning":"suspended"}`, FirstSeen: t0, LastSeen: c.Now()},
	}
	if diff := cmp.Diff(wantOpen, open1, cmpIgnoreID()); diff != "" {
		t.Errorf("OpenDrift (-want +got):\n%s", diff)
	}

	evs, err = s.ClearDrift(ctx, "r1", []int64{open1[0].ID})
	if err != nil || len(evs) != 1 || evs[0].Type != meridian.EventDriftCleared || evs[0].Workload != "api" {
		t.Errorf("ClearDrift = %+v, %v; want one drift.cleared for api", evs, err)
	}
	// A drift seen again after it cleared opens a new record.
	c.Advance(time.Hour)
	if evs, err := s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{bucket, role}); err != nil || len(evs) != 1 || evs[0].Type != meridian.EventDriftOpened {
		t.Errorf("re-seen role: events %+v, %v; want one drift.opened", evs, err)
	}
	open2, err := s.OpenDrift(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(open2) != 2 || !open2[0].FirstSeen.Equal(c.Now()) || !open2[1].FirstSeen.Equal(t0) {
		t.Errorf("OpenDrift = %+v, want the new role record and the bucket from t0", open2)
	}
	other, err := s.OpenDrift(ctx, "r2")
	if err != nil || len(other) != 0 {
		t.Errorf("OpenDrift of another repo = %+v, %v; want none", other, err)
	}
}

// testDriftCarried: a check that could not look at part of an engine
// (one target failed) carries that part's open records, which stay as
// they were, neither cleared nor refreshed.
func testDriftCarried(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	t0 := c.Now()
	tf := []meridian.DriftEngine{meridian.DriftEngineTerraform}
	east := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "a.b", Action: "update", Actual: "1"}
	west := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "west", Resource: "c.d", Action: "update", Actual: "2"}
	if _, err := s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{east, west}); err != nil {
		t.Fatal(err)
	}
	open1, err := s.OpenDrift(ctx, "r1")
	if err != nil || len(open1) != 2 {
		t.Fatalf("OpenDrift = %+v, %v; want east and west", open1, err)
	}
	c.Advance(time.Hour)
	// west could not be checked: its record is carried, east is seen.
	evs, err := s.SyncDrift(ctx, "r1", tf, []meridian.DriftRecord{east, open1[1]})
	if err != nil || len(evs) != 0 {
		t.Fatalf("SyncDrift with a carried record = %+v, %v; want no event", evs, err)
	}
	open2, err := s.OpenDrift(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := []meridian.DriftRecord{
		{ID: open1[0].ID, RepoID: "r1", Engine: meridian.DriftEngineTerraform, Target: "east", Resource: "a.b", Action: "update", Actual: "1", FirstSeen: t0, LastSeen: c.Now()},
		{ID: open1[1].ID, RepoID: "r1", Engine: meridian.DriftEngineTerraform, Target: "west", Resource: "c.d", Action: "update", Actual: "2", FirstSeen: t0, LastSeen: t0},
	}
	if diff := cmp.Diff(want, open2); diff != "" {
		t.Errorf("after a carried check (-want +got):\n%s", diff)
	}
}

// testListDrift checks the filters of the API's drift list.
func testListDrift(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	all := []meridian.DriftEngine{meridian.DriftEngineTerraform, meridian.DriftEngineArgoCD}
	tfA := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "a", Workload: "api", Resource: "x.y", Action: "update"}
	tfB := meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: "b", Resource: "x.z", Action: "delete"}
	argo := meridian.DriftRecord{Engine: meridian.DriftEngineArgoCD, Target: "a", Workload: "api", Resource: "Application api.a", Action: "missing"}
	if _, err := s.SyncDrift(ctx, "r1", all, []meridian.DriftRecord{tfA, tfB, argo}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncDrift(ctx, "r2", all, []meridian.DriftRecord{tfA}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if _, err := s.SyncDrift(ctx, "r1", all, []meridian.DriftRecord{tfA}); err != nil { // clears tfB and argo
		t.Fatal(err)
	}
	res := func(ds []meridian.DriftRecord) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.Resource)
		}
		return out
	}
	cases := map[string]struct {
		reason string
		f      store.DriftFilter
		want   []string
	}{
		"Default": {"the zero state lists the open records", store.DriftFilter{RepoID: "r1"}, []string{"x.y"}},
		"Cleared": {"cleared records only", store.DriftFilter{RepoID: "r1", State: store.DriftCleared}, []string{"Application api.a", "x.z"}},
		"All":     {"open first, then cleared", store.DriftFilter{RepoID: "r1", State: store.DriftAll}, []string{"x.y", "Application api.a", "x.z"}},
		"Engine":  {"one engine", store.DriftFilter{RepoID: "r1", State: store.DriftAll, Engine: meridian.DriftEngineArgoCD}, []string{"Application api.a"}},
		"Target":  {"one target", store.DriftFilter{RepoID: "r1", State: store.DriftAll, Target: "b"}, []string{"x.z"}},
		"Workload": {"one workload", store.DriftFilter{RepoID: "r1", State: store.DriftAll, Workload: "api"},
			[]string{"x.y", "Application api.a"}},
		"Limit":     {"a limit cuts the list", store.DriftFilter{RepoID: "r1", State: store.DriftAll, Limit: 2}, []string{"x.y", "Application api.a"}},
		"OtherRepo": {"repos do not mix", store.DriftFilter{RepoID: "r2", State: store.DriftAll}, []string{"x.y"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := s.ListDrift(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
	if _, err := s.ListDrift(ctx, store.DriftFilter{State: "closed"}); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("ListDrift of an unknown state = %v, want EINVALID", err)
	}
}

func cmpIgnoreID() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())
}
