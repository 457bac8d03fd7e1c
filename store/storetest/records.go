package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func testRepos(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	r := store.Repo{ID: store.RepoID("/repos/a"), Source: "/repos/a"}
	for range 2 {
		if err := s.EnsureRepo(ctx, r); err != nil {
			t.Fatalf("EnsureRepo must be idempotent: %v", err)
		}
	}
	got, err := s.GetRepo(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != r.Source || got.CreatedAt.IsZero() {
		t.Errorf("GetRepo = %+v, want source %s and a creation time", got, r.Source)
	}
	if _, err := s.GetRepo(ctx, "nope"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("GetRepo(missing) = %v, want ENOTFOUND", err)
	}
}

func samplePlan(id string, at time.Time) store.PlanRecord {
	return store.PlanRecord{
		ID: id, RepoID: "r1", Source: "/repos/a", Ref: "main", Commit: "abc", Dirty: true, TreeDigest: "d1",
		Document: json.RawMessage(`{"id":"` + id + `"}`), CreatedAt: at, CreatedBy: "alice",
		Targets: []store.PlanTarget{
			{Target: "t1", Dir: "plans/" + id + "/t1", InputsDigest: "i1", StateSerial: 3, StateLineage: "lin",
				Change:     meridian.TargetChange{Target: "t1", Module: "tf/m", Status: meridian.ChangeStatusChanges, Add: []string{"a.b"}, Change: []string{}, Replace: []string{}, Destroy: []string{}, StateSerial: 3},
				Placements: []store.Placement{{Workload: "w1", Replicas: 2}},
				ShowJSON:   json.RawMessage(`{"format_version":"1.2"}`)},
			{Target: "t2", Dir: "plans/" + id + "/t2", InputsDigest: "i2",
				Change:     meridian.TargetChange{Target: "t2", Status: meridian.ChangeStatusNoChanges},
				Placements: []store.Placement{}},
		},
	}
}

func testPlans(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	p := samplePlan("p1", c.Now())
	if err := s.SavePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPlan(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("GetPlan does not return what SavePlan stored (-want +got):\n%s", diff)
	}
	// A re-plan with the same ID replaces the targets.
	p.Targets = p.Targets[:1]
	p.Targets[0].StateSerial = 4
	if err := s.SavePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetPlan(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("saving a plan again must replace it (-want +got):\n%s", diff)
	}
	c.Advance(time.Minute)
	p2 := samplePlan("p2", c.Now())
	if err := s.SavePlan(ctx, p2); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListPlans(ctx, "r1", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range list {
		ids = append(ids, l.ID)
		if l.Document != nil || l.Targets != nil {
			t.Errorf("ListPlans returned a document or targets for %s", l.ID)
		}
	}
	if diff := cmp.Diff([]string{"p2", "p1"}, ids); diff != "" {
		t.Errorf("ListPlans must be newest first (-want +got):\n%s", diff)
	}
	if _, err := s.GetPlan(ctx, "missing"); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("GetPlan(missing) = %v, want ENOTFOUND", err)
	}
}

func testRuns(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	owner := store.Owner{Host: "h", PID: 7, Actor: "bob"}
	parent := store.Run{ID: "run1", RepoID: "r1", Kind: store.RunApply, Owner: owner}
	child := store.Run{ID: "run1/t1", ParentID: "run1", RepoID: "r1", Kind: store.RunApply, PlanID: "p1", Target: "t1", Owner: owner}
	for _, r := range []store.Run{parent, child} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetRun(ctx, "run1/t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunRunning || got.Duration() != 0 || got.Owner != owner {
		t.Errorf("new run = %+v, want running with owner %+v", got, owner)
	}
	c.Advance(1500 * time.Millisecond)
	fin := store.RunFinish{Status: store.RunSucceeded, Output: "log", Detail: json.RawMessage(`{"add":1}`)}
	if err := s.FinishRun(ctx, "run1/t1", nil, fin); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRun(ctx, "run1/t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunSucceeded || got.Output != "log" || got.Duration() != 1500*time.Millisecond || string(got.Detail) != `{"add":1}` {
		t.Errorf("finished run = %+v (duration %v)", got, got.Duration())
	}
	if err := s.FinishRun(ctx, "run1/t1", nil, store.RunFinish{Status: store.RunFailed}); !errors.Is(err, store.ErrRunNotRunning) {
		t.Errorf("finishing a finished run = %v, want ErrRunNotRunning", err)
	}
	if err := s.FinishRun(ctx, "nope", nil, fin); meridian.ErrorCode(err) != meridian.ENOTFOUND {
		t.Errorf("finishing a missing run = %v, want ENOTFOUND", err)
	}
	if err := s.FinishRun(ctx, "run1", nil, store.RunFinish{Status: store.RunFailed, PlanID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRun(ctx, "run1"); got.PlanID != "p1" || got.Status != store.RunFailed {
		t.Errorf("FinishRun must record the plan ID learnt during the run: %+v", got)
	}
	kids, err := s.ListRuns(ctx, store.RunFilter{ParentID: "run1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 1 || kids[0].ID != "run1/t1" {
		t.Errorf("ListRuns(parent run1) = %+v", kids)
	}
	all, err := s.ListRuns(ctx, store.RunFilter{RepoID: "r1", Kind: store.RunApply})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("ListRuns(repo, apply) returned %d runs, want 2", len(all))
	}
}

func testLedger(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	key := store.LockKey{RepoID: "r1", Target: "t1"}
	lk, err := s.AcquireLock(ctx, store.LockRequest{Key: key, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	at := c.Now().Truncate(time.Millisecond)
	applied := store.AppliedTarget{RepoID: "r1", Target: "t1", PlanID: "p1", RunID: "run1", Commit: "abc", Dir: "plans/p1/t1", StateSerial: 4, StateLineage: "lin", AppliedAt: at}
	first := []store.LedgerEntry{
		{RepoID: "r1", Target: "t1", Workload: "b", PlanID: "p1", Commit: "abc", Replicas: 2, RunID: "run1", AppliedAt: at},
		{RepoID: "r1", Target: "t1", Workload: "a", PlanID: "p1", Commit: "abc", Replicas: 1, RunID: "run1", AppliedAt: at},
	}
	if err := s.RecordApplied(ctx, lk.Fence(), applied, first); err != nil {
		t.Fatal(err)
	}
	// The next apply replaces the target's rows: a workload that moved away
	// is no longer running here.
	second := []store.LedgerEntry{{RepoID: "r1", Target: "t1", Workload: "a", PlanID: "p2", Commit: "def", Replicas: 3, RunID: "run2", AppliedAt: at}}
	applied.PlanID, applied.RunID, applied.StateSerial = "p2", "run2", 5
	if err := s.RecordApplied(ctx, lk.Fence(), applied, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.LedgerEntries(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("ledger after the second apply (-want +got):\n%s", diff)
	}
	ats, err := s.AppliedTargets(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.AppliedTarget{applied}, ats); diff != "" {
		t.Errorf("applied targets (-want +got):\n%s", diff)
	}
	if other, err := s.LedgerEntries(ctx, "r2"); err != nil || len(other) != 0 {
		t.Errorf("another repo's ledger = %v, %v; want empty", other, err)
	}
}

func testAudit(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	for _, a := range []string{"apply.start", "apply.finish"} {
		if err := s.AppendAudit(ctx, store.AuditEvent{RepoID: "r1", Actor: "alice", Action: a, PlanID: "p1"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{RepoID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action != "apply.start" || got[1].Action != "apply.finish" || got[0].ID >= got[1].ID || got[0].At.IsZero() {
		t.Errorf("audit log must list events oldest first with IDs and times: %+v", got)
	}
}
