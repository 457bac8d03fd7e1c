package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// LargePlanDocument returns a plan-shaped JSON document of about n bytes:
// placements of many workloads with costs, runner-ups and grouped
// rejections, drawn from a seeded generator so that it compresses as a
// real plan does, not as a repeated string would.
func LargePlanDocument(id string, n int, seed uint64) json.RawMessage {
	rng := rand.New(rand.NewPCG(seed, 7))
	type group struct {
		Rule    string   `json:"rule"`
		Reason  string   `json:"reason"`
		Count   int      `json:"count"`
		Nearest []string `json:"nearest"`
	}
	type placement struct {
		Workload    string  `json:"workload"`
		Target      string  `json:"target"`
		Replicas    int     `json:"replicas"`
		MonthlyCost float64 `json:"monthly_cost"`
		Explanation struct {
			Reason   string  `json:"reason"`
			RunnerUp string  `json:"runner_up"`
			Extra    float64 `json:"extra_cost"`
			Rejected []group `json:"rejected"`
		} `json:"explanation"`
	}
	rules := []string{"MER-ENC-001", "MER-RET-001", "MER-RES-001", "MER-CAP-001"}
	var b strings.Builder
	b.WriteString(`{"schema_version":1,"id":"` + id + `","currency":"USD","placements":[`)
	for i := 0; b.Len() < n; i++ {
		var p placement
		p.Workload, p.Target = fmt.Sprintf("w%05d", i), fmt.Sprintf("t%03d", rng.IntN(200))
		p.Replicas, p.MonthlyCost = 1+rng.IntN(6), float64(rng.IntN(900000))/100
		p.Explanation.Reason = "cheapest compliant target with capacity"
		p.Explanation.RunnerUp, p.Explanation.Extra = fmt.Sprintf("t%03d", rng.IntN(200)), float64(rng.IntN(20000))/100
		for _, r := range rules[:1+rng.IntN(len(rules))] {
			g := group{Rule: r, Reason: "requires " + strings.ToLower(r[4:7]) + " the target does not offer", Count: 1 + rng.IntN(60)}
			for range 3 {
				g.Nearest = append(g.Nearest, fmt.Sprintf("t%03d", rng.IntN(200)))
			}
			p.Explanation.Rejected = append(p.Explanation.Rejected, g)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		pb, _ := json.Marshal(p) // plain structs: never fails
		b.Write(pb)
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String())
}

// testPlanStorage: a large plan is stored compressed, once per plan ID,
// and reads back byte for byte.
func testPlanStorage(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	p := samplePlan("big", c.Now())
	p.Document = LargePlanDocument("big", 4<<20, 1)
	p.Targets[0].ShowJSON = LargePlanDocument("show", 1<<20, 2)
	raw := int64(len(p.Document) + len(p.Targets[0].ShowJSON))
	var first store.PlanStats
	for i := range 3 {
		c.Advance(time.Minute)
		p.CreatedAt = c.Now().Truncate(time.Millisecond)
		if err := s.SavePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		st, err := s.PlanStats(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if st.Plans != 1 || st.RawBytes != raw {
			t.Fatalf("save %d: stats %+v, want 1 plan of %d raw bytes", i+1, st, raw)
		}
		// The generator's documents shrink about sevenfold with gzip; a
		// backend that stores them as they are fails here.
		if st.StoredBytes > raw/4 {
			t.Errorf("save %d: %d bytes stored for %d bytes of JSON, want at most a quarter: documents must be stored compressed", i+1, st.StoredBytes, raw)
		}
		if i == 0 {
			first = st
		} else if st.StoredBytes != first.StoredBytes {
			t.Errorf("save %d of the same plan ID: %d bytes stored, after the first %d: one document per plan ID", i+1, st.StoredBytes, first.StoredBytes)
		}
	}
	got, err := s.GetPlan(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Document) != string(p.Document) || string(got.Targets[0].ShowJSON) != string(p.Targets[0].ShowJSON) {
		t.Errorf("GetPlan does not return the saved JSON byte for byte (%d and %d bytes back, %d and %d saved)",
			len(got.Document), len(got.Targets[0].ShowJSON), len(p.Document), len(p.Targets[0].ShowJSON))
	}
	if !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("a re-save must update the plan's time (retention ranks by it): %v, want %v", got.CreatedAt, p.CreatedAt)
	}
	// Another document under the same ID replaces the stored one.
	p.Document = json.RawMessage(`{"id":"big","changed":true}`)
	if err := s.SavePlan(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPlan(ctx, "big"); err != nil || string(got.Document) != string(p.Document) {
		t.Errorf("a changed document under the same ID: got %.60s, %v; want the new one", got.Document, err)
	}
}

// testPlanRetention: PrunePlans keeps the newest plans of each ref and
// everything something still needs, leaves cost history, findings, runs
// and the audit log alone, and leaves tombstones that GetPlan reports.
func testPlanRetention(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	var order []string
	save := func(repo, ref, id string) {
		t.Helper()
		c.Advance(time.Minute)
		p := samplePlan(id, c.Now())
		p.RepoID, p.Ref = repo, ref
		if err := s.SavePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		order = append(order, id)
	}
	for i := range 8 {
		save("r1", "refs/heads/main", fmt.Sprint("main-", i))
		if i < 4 {
			save("r1", "refs/pull/7/head", fmt.Sprint("pr-", i))
			save("r1", "", fmt.Sprint("dir-", i))
			save("r2", "refs/heads/main", fmt.Sprint("other-", i))
		}
	}
	// What still needs old plans of main: an apply that succeeded, the
	// ledger, a held lock, a running run, an open move; and the newest
	// comment of pull request 7 (an older one does not count).
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateRun(ctx, store.Run{ID: "apply-0", RepoID: "r1", Kind: store.RunApply, PlanID: "main-0"}))
	must(s.FinishRun(ctx, "apply-0", nil, store.RunFinish{Status: store.RunSucceeded, PlanID: "main-0"}))
	lk, err := s.AcquireLock(ctx, store.LockRequest{Key: store.LockKey{RepoID: "r1", Target: "t1"}, PlanID: "main-1", TTL: time.Hour})
	must(err)
	must(s.RecordApplied(ctx, lk.Fence(), store.AppliedTarget{RepoID: "r1", Target: "t1", PlanID: "main-1", RunID: "apply-1"},
		[]store.LedgerEntry{{RepoID: "r1", Target: "t1", Workload: "w1", PlanID: "main-1", Replicas: 1, RunID: "apply-1"}}))
	_, err = s.AcquireLock(ctx, store.LockRequest{Key: store.LockKey{RepoID: "r1", Target: "t2"}, PlanID: "main-2", TTL: time.Hour})
	must(err)
	must(s.CreateRun(ctx, store.Run{ID: "apply-3/t3", RepoID: "r1", Kind: store.RunApply, PlanID: "main-3", Target: "t3"}))
	must(s.SaveMoves(ctx, "deploy#main:apps", []store.Move{{Workload: "w1", From: []string{"t1"}, To: []string{"t2"}, PlanID: "main-4", State: "waiting"}}))
	// A failed apply does not make a plan applied.
	must(s.CreateRun(ctx, store.Run{ID: "apply-5", RepoID: "r1", Kind: store.RunApply, PlanID: "main-5"}))
	must(s.FinishRun(ctx, "apply-5", nil, store.RunFinish{Status: store.RunFailed, PlanID: "main-5"}))
	// What retention must never touch.
	must(s.RecordCost(ctx, meridian.CostPoint{RepoID: "r1", Branch: "main", Kind: meridian.CostPlanned, PlanID: "main-5", Total: 12}))
	must(s.AppendAudit(ctx, store.AuditEvent{RepoID: "r1", Action: "plan.saved", PlanID: "main-5"}))
	if ss, ok := s.(ServerStore); ok {
		must(ss.RecordComment(ctx, store.PRComment{RepoID: "r1", PR: 7, PlanID: "pr-1", CommentID: "c1", PostedAt: c.Now()}))
		must(ss.RecordComment(ctx, store.PRComment{RepoID: "r1", PR: 7, PlanID: "pr-0", CommentID: "c1", PostedAt: c.Now().Add(time.Second)}))
	}

	if got, err := s.PrunePlans(ctx, "r1", 0); err != nil || len(got) != 0 {
		t.Errorf("PrunePlans with no limit pruned %v, %v; want nothing", got, err)
	}
	c.Advance(time.Hour)
	pruned, err := s.PrunePlans(ctx, "r1", 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pruned {
		ids = append(ids, p.ID)
		if p.RepoID != "r1" || p.PrunedAt.IsZero() || p.CreatedAt.IsZero() {
			t.Errorf("pruned plan %+v: want its repo, creation and prune times", p)
		}
	}
	// Oldest first: main-5 is past the newest two of main with nothing
	// needing it; pr-1 and dir-0, dir-1 past those of theirs (pr-0 is
	// what the pull request's comment shows now).
	want := []string{"dir-0", "dir-1", "pr-1", "main-5"}
	if _, ok := s.(ServerStore); !ok {
		want = []string{"pr-0", "dir-0", "pr-1", "dir-1", "main-5"}
	}
	slices.SortFunc(want, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("pruned plans (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		_, err := s.GetPlan(ctx, id)
		if !store.IsPlanPruned(err) || meridian.ErrorCode(err) != meridian.ENOTFOUND || !strings.Contains(err.Error(), "pruned by retention") {
			t.Errorf("GetPlan(%s) after pruning = %v, want an ENOTFOUND *PlanPrunedError", id, err)
		}
	}
	if _, err := s.GetPlan(ctx, "never"); meridian.ErrorCode(err) != meridian.ENOTFOUND || store.IsPlanPruned(err) {
		t.Errorf("GetPlan of a plan that never existed = %v, want a plain ENOTFOUND", err)
	}
	list, err := s.ListPlans(ctx, "r1", 0)
	must(err)
	for _, p := range list {
		if slices.Contains(ids, p.ID) {
			t.Errorf("ListPlans lists pruned plan %s", p.ID)
		}
	}
	if st, err := s.PlanStats(ctx, "r1"); err != nil || st.Pruned != len(ids) || st.Plans != len(list) {
		t.Errorf("PlanStats = %+v, %v; want %d plans and %d pruned", st, err, len(list), len(ids))
	}
	if other, err := s.ListPlans(ctx, "r2", 0); err != nil || len(other) != 4 {
		t.Errorf("another repo's plans: %d, %v; want all 4 kept", len(other), err)
	}
	costs, err := s.CostHistory(ctx, store.CostFilter{RepoID: "r1"})
	if err != nil || len(costs) != 1 || costs[0].PlanID != "main-5" {
		t.Errorf("cost history after pruning: %+v, %v; want main-5's point kept", costs, err)
	}
	audit, err := s.ListAudit(ctx, store.AuditFilter{RepoID: "r1", Action: "plan.saved"})
	if err != nil || len(audit) != 1 {
		t.Errorf("audit after pruning: %+v, %v; want the entry kept", audit, err)
	}
	if r, err := s.GetRun(ctx, "apply-5"); err != nil || r.PlanID != "main-5" {
		t.Errorf("a run of a pruned plan: %+v, %v; want it kept as it was", r, err)
	}
	if again, err := s.PrunePlans(ctx, "r1", 2); err != nil || len(again) != 0 {
		t.Errorf("a second prune: %v, %v; want nothing left to prune", again, err)
	}
	// A plan made again with the same inputs (so the same ID) is back.
	p := samplePlan("main-5", c.Now())
	p.Ref = "refs/heads/main"
	must(s.SavePlan(ctx, p))
	if _, err := s.GetPlan(ctx, "main-5"); err != nil {
		t.Errorf("a pruned plan saved again: %v", err)
	}
	if st, err := s.PlanStats(ctx, "r1"); err != nil || st.Pruned != len(ids)-1 {
		t.Errorf("PlanStats after saving a pruned plan again = %+v, %v; want %d pruned", st, err, len(ids)-1)
	}
}
