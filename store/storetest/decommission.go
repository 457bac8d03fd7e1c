package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian/store"
)

// RunDecommissions checks store.Decommissions: forgetting a decommissioned
// target is fenced, protection is remembered per target, and destroy
// approvals go from open to effective, used or revoked.
func RunDecommissions(t *testing.T, open Opener) {
	t.Run("ForgetTarget", func(t *testing.T) { testForgetTarget(t, open) })
	t.Run("Protection", func(t *testing.T) { testProtection(t, open) })
	t.Run("DestroyApprovals", func(t *testing.T) { testDestroyApprovals(t, open) })
}

func testForgetTarget(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	at := c.Now().Truncate(time.Millisecond)
	fences := map[string]store.Fence{}
	for _, target := range []string{"gone", "kept"} {
		lk, err := s.AcquireLock(ctx, store.LockRequest{Key: store.LockKey{RepoID: "r1", Target: target}, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		fences[target] = lk.Fence()
		err = s.RecordApplied(ctx, lk.Fence(), store.AppliedTarget{RepoID: "r1", Target: target, PlanID: "p1", RunID: "run1", Dir: "plans/p1/" + target, AppliedAt: at},
			[]store.LedgerEntry{{RepoID: "r1", Target: target, Workload: "api", PlanID: "p1", Replicas: 2, RunID: "run1", AppliedAt: at}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A run that lost the lock must not forget the target: the one that
	// took it over may have applied it again.
	if _, _, err := s.ForceUnlock(ctx, fences["gone"].Key, "ops", "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetTarget(ctx, fences["gone"]); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("ForgetTarget with a lost lock = %v, want ErrLockLost", err)
	}
	lk, err := s.AcquireLock(ctx, store.LockRequest{Key: fences["gone"].Key, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetTarget(ctx, lk.Fence()); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetTarget(ctx, lk.Fence()); err != nil {
		t.Errorf("forgetting a forgotten target: %v", err)
	}
	ledger, err := s.LedgerEntries(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	ats, err := s.AppliedTargets(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 1 || ledger[0].Target != "kept" || len(ats) != 1 || ats[0].Target != "kept" {
		t.Errorf("after forgetting target gone: ledger %+v, applied targets %+v; want only target kept", ledger, ats)
	}
}

func testProtection(t *testing.T, open Opener) {
	s, _ := openWith(t, open)
	ctx := context.Background()
	steps := []struct {
		reason  string
		repo    string
		protect map[string]bool
		want    []string
	}{
		{"protect: true is remembered", "r1", map[string]bool{"a": true, "b": true, "c": false}, []string{"a", "b"}},
		{"a target left out of a later apply (removed from the config) stays protected; protect: false unprotects", "r1", map[string]bool{"b": false}, []string{"a"}},
		{"saving the same flag twice changes nothing", "r1", map[string]bool{"a": true}, []string{"a"}},
		{"repos are apart", "r2", map[string]bool{"x": true}, []string{"x"}},
	}
	for _, st := range steps {
		if err := s.SaveProtection(ctx, st.repo, st.protect); err != nil {
			t.Fatal(err)
		}
		got, err := s.ProtectedTargets(ctx, st.repo)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.reason, diff)
		}
	}
}

func testDestroyApprovals(t *testing.T, open Opener) {
	s, c := openWith(t, open)
	ctx := context.Background()
	add := func(a store.DestroyApproval) store.DestroyApproval {
		t.Helper()
		got, err := s.AddDestroyApproval(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 || got.At.IsZero() {
			t.Fatalf("AddDestroyApproval must fill in ID and At: %+v", got)
		}
		return got
	}
	api := add(store.DestroyApproval{RepoID: "r1", PlanID: "p1", Items: []string{"target/old"}, Actor: "alice", Via: store.ApprovalAPI})
	add(store.DestroyApproval{RepoID: "r1", PlanID: "p2", PR: 7, Head: "h1", Items: []string{"workload/w"}, Actor: "bob", Via: store.ApprovalPR})
	c.Advance(time.Second)
	prNew := add(store.DestroyApproval{RepoID: "r1", PlanID: "p3", PR: 7, Head: "h2", Items: []string{"workload/w", "target/old"}, Actor: "bob", Via: store.ApprovalPR})
	add(store.DestroyApproval{RepoID: "r1", PlanID: "p4", PR: 8, Head: "h9", Items: []string{"target/x"}, Actor: "bob", Via: store.ApprovalPR})
	add(store.DestroyApproval{RepoID: "r2", PlanID: "p5", Items: []string{"target/y"}, Actor: "carol", Via: store.ApprovalAPI})

	// #7 merged with its newer head: the approval of that head takes
	// effect, the one of an older head is revoked. #8 closed unmerged.
	if n, err := s.SettlePRApprovals(ctx, "r1", 7, "h2"); err != nil || n != 1 {
		t.Fatalf("SettlePRApprovals(#7 merged at h2) = %d, %v; want 1", n, err)
	}
	if n, err := s.SettlePRApprovals(ctx, "r1", 8, ""); err != nil || n != 0 {
		t.Fatalf("SettlePRApprovals(#8 closed) = %d, %v; want 0", n, err)
	}
	got, err := s.DestroyApprovals(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	prNew.MergedAt = c.Now().Truncate(time.Millisecond)
	want := []store.DestroyApproval{api, prNew}
	for i := range want {
		want[i].At = want[i].At.Truncate(time.Millisecond)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("open approvals after settling #7 and #8 (-want +got):\n%s", diff)
	}
	if err := s.UseDestroyApprovals(ctx, "r1", []int64{api.ID, prNew.ID}, "p9"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DestroyApprovals(ctx, "r1"); err != nil || len(got) != 0 {
		t.Errorf("open approvals after use = %+v, %v; want none", got, err)
	}
	if got, err := s.DestroyApprovals(ctx, "r2"); err != nil || len(got) != 1 || got[0].Actor != "carol" {
		t.Errorf("another repo's approvals = %+v, %v; want carol's, untouched", got, err)
	}
}

// AppliedTargetNames lists the targets of repoID's applied-target rows, for
// tests that check which targets the ledger holds.
func AppliedTargetNames(tb testing.TB, l store.Ledger, repoID string) []string {
	tb.Helper()
	ats, err := l.AppliedTargets(context.Background(), repoID)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(ats))
	for i, at := range ats {
		out[i] = at.Target
	}
	return out
}
