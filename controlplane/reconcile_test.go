package controlplane_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
)

// TestStartupPlansHead: the head is planned as soon as the loop starts,
// without waiting for the poll interval.
func TestStartupPlansHead(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true, Recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Recon.Run(ctx) }()
	defer func() { cancel(); <-done }()
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().PlanID != "" })
	if plans, err := h.St.ListPlans(context.Background(), controlplanetest.RepoID, 0); err != nil || len(plans) != 1 || plans[0].Commit != "c1" {
		t.Errorf("plans after startup: %+v, %v", plans, err)
	}
}

// TestCoalescing: a burst of syncs and of reviews of one head share their
// work: one fetch-and-plan per new commit, one plan per head.
func TestCoalescing(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true, Recon: controlplane.ReconcilerOptions{Interval: 24 * 3600e9}})
	h.Planner.Gate = make(chan struct{})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	h.Loader.Set("b1", snapshot("b1", config(nil, workload("api", "alice", 2))))
	h.Loader.Set("h1", snapshot("h1", config(nil, workload("api", "alice", 3))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Recon.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- h.Recon.Sync(context.Background()) }()
	}
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.Recon.ReviewPR(context.Background(), prEvent(1, "h1", "b1"))
			errs <- err
		}()
	}
	// Let plans through one at a time until everyone is answered.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case h.Planner.Gate <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Plans: the branch head (startup and the syncs share it), the PR head
	// and the PR base. Nothing else, however many callers.
	if n := h.Planner.Calls(); n != 3 {
		t.Errorf("%d plans for 1 branch commit and 1 PR (head and base), want 3", n)
	}
	// A later sync of the same commit does not plan again.
	if err := h.Recon.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.Planner.Calls(); n != 3 {
		t.Errorf("re-sync of a planned commit planned again (%d plans)", n)
	}
}

// TestFailureRetried: a failing step is recorded and retried with backoff;
// the loop keeps running and recovers.
func TestFailureRetried(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Fail("master", errors.New("connection refused"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Recon.Run(ctx) }()
	defer func() { cancel(); <-done }()
	controlplanetest.WaitFor(t, "the failure to be recorded", func() bool {
		runs, _ := h.St.ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
		return len(runs) >= 2 && h.Recon.State().LastError != "" // retried at least once
	})
	runs, _ := h.St.ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
	if runs[0].Status != store.RunFailed || runs[0].Error == "" {
		t.Errorf("failed sync recorded as %+v", runs[0])
	}
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "recovery", func() bool { s := h.Recon.State(); return s.PlanID != "" && s.LastError == "" })
}

// TestAutoApply: with auto_apply, each new commit's plan is applied once;
// a blocking plan is not applied, and the skip is audited.
func TestAutoApply(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	cfg := config(nil, workload("api", "alice", 2))
	cfg.Settings.AutoApply = true
	h.Loader.Set("master", snapshot("c1", cfg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Recon.Run(ctx) }()
	defer func() { cancel(); <-done }()
	controlplanetest.WaitFor(t, "the auto-apply", func() bool { return h.Applier.Applied() == 1 })
	for range 3 {
		if err := h.Recon.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.Applier.Applied(); n != 1 {
		t.Errorf("the same plan was applied %d times", n)
	}
	blocking := config(nil, workload("api", "", 2))
	blocking.Settings.AutoApply = true
	h.Loader.Set("master", snapshot("c2", blocking))
	if err := h.Recon.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.Applier.Applied(); n != 1 {
		t.Errorf("a blocking plan was applied")
	}
	if ev, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "apply.skipped"}); len(ev) != 1 {
		t.Errorf("apply.skipped audited %d times, want 1", len(ev))
	}
}

// TestApply applies the branch's plan for an actor, and audits the
// request.
func TestApply(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "the startup plan", func() bool { return h.Recon.State().PlanID != "" })
	id := h.Recon.State().PlanID
	out, err := h.Recon.Apply(context.Background(), id, "api:t-operator")
	if err != nil || out.Status != controlplane.ApplySucceeded {
		t.Fatalf("apply: %+v, %v", out, err)
	}
	if s := h.Recon.State(); s.AppliedPlanID != id {
		t.Errorf("state after the apply: %+v", s)
	}
	ev, _ := h.St.ListAudit(context.Background(), store.AuditFilter{Action: "apply.requested"})
	if len(ev) != 1 || ev[0].Actor != "api:t-operator" || ev[0].PlanID != id {
		t.Errorf("audit: %+v", ev)
	}
}

// TestPlanRefError: a plan that cannot be made is an error for the caller,
// with its code, not a crash.
func TestPlanRefError(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	var err error = meridian.Errorf(meridian.EINVALID, "policies do not compile")
	h.Planner.Err.Store(&err)
	if _, err := h.Recon.PlanRef(context.Background(), "master", "test"); meridian.ErrorCode(err) != meridian.EINVALID {
		t.Errorf("PlanRef with a failing planner: %v, want an EINVALID error", err)
	}
}

// fakeDrift fails its first check, then finds two drifted resources.
type fakeDrift struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeDrift) CheckDrift(context.Context, string) (*controlplane.DriftOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == 1 {
		return nil, errors.New("state backend unreachable")
	}
	return &controlplane.DriftOutput{RunID: "drift-1", Drifted: map[string]int{"aws-a": 2, "onprem-b": 0}}, nil
}

func (f *fakeDrift) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// TestDriftScheduled: drift is checked on its schedule, a failed check is
// retried, and the result is published as a metric.
func TestDriftScheduled(t *testing.T) {
	d := &fakeDrift{}
	h := newHarness(t, controlplanetest.HarnessOptions{Drift: d, Recon: controlplane.ReconcilerOptions{DriftInterval: 10 * time.Millisecond}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	controlplanetest.WaitFor(t, "a retried drift check", func() bool { return d.Calls() >= 2 })
	var text string
	controlplanetest.WaitFor(t, "the drift gauge", func() bool {
		fams, _ := h.Registry.Gather()
		for _, f := range fams {
			if f.GetName() == "meridian_drifted_resources" {
				for _, m := range f.GetMetric() {
					if m.GetGauge().GetValue() == 2 && m.GetLabel()[0].GetValue() == "aws-a" {
						text = "ok"
					}
				}
			}
		}
		return text == "ok"
	})
}
