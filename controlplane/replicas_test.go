package controlplane_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
)

// TestElectedReconciler runs an elected reconciler through two terms of
// leadership: between terms it does none of the leader's work and shows
// the leader's state; in each term it works as a server alone does.
func TestElectedReconciler(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{NoRun: true, Recon: controlplane.ReconcilerOptions{Interval: 24 * time.Hour, Elected: true}})
	h.Loader.Set("master", snapshot("c1", config(nil, workload("api", "alice", 2))))
	ctx := context.Background()
	follower := func(when string) {
		t.Helper()
		if err := h.Recon.Sync(ctx); !errors.Is(err, controlplane.ErrNotLeader) {
			t.Errorf("%s: Sync: %v, want ErrNotLeader", when, err)
		}
		if _, err := h.Recon.PlanRef(ctx, "master", "test"); !errors.Is(err, controlplane.ErrNotLeader) {
			t.Errorf("%s: PlanRef: %v, want ErrNotLeader", when, err)
		}
		if err := h.Recon.Background(func(context.Context) {}); !errors.Is(err, controlplane.ErrNotLeader) {
			t.Errorf("%s: Background: %v, want ErrNotLeader", when, err)
		}
		if _, err := h.Recon.ReviewPR(ctx, prEvent(1, "h1", "b1")); !errors.Is(err, controlplane.ErrNotLeader) {
			t.Errorf("%s: ReviewPR: %v, want ErrNotLeader", when, err)
		}
	}
	follower("before the first term")
	published := controlplane.BranchState{Branch: "master", Commit: "c0", PlanID: "leaders-plan"}
	h.Recon.FollowState(published)
	if got := h.Recon.State(); got.PlanID != "leaders-plan" {
		t.Errorf("a follower's state: %+v, want the leader's", got)
	}
	if h.Planner.Calls() != 0 {
		t.Fatalf("a follower planned %d times", h.Planner.Calls())
	}

	term := func() (stop func()) {
		tctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); h.Recon.Run(tctx) }()
		controlplanetest.WaitFor(t, "the term to begin", h.Recon.Running)
		return func() { cancel(); <-done }
	}
	stop := term()
	controlplanetest.WaitFor(t, "the first term's plan", func() bool { return h.Recon.State().Commit == "c1" })
	h.Recon.FollowState(published)
	if h.Recon.State().Commit != "c1" {
		t.Error("FollowState changed a leader's state")
	}
	stop()
	follower("between terms")

	stop = term()
	defer stop()
	h.Loader.Set("master", snapshot("c2", config(nil, workload("api", "alice", 4))))
	if err := h.Recon.Sync(ctx); err != nil || h.Recon.State().Commit != "c2" {
		t.Errorf("second term: Sync: %v, state %+v; want c2 planned", err, h.Recon.State())
	}
}

// TestCheckConfigBlocksAutoApply: a config that CheckConfig refuses is
// planned but not applied, and the refusal is the branch's last error.
func TestCheckConfigBlocksAutoApply(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{Recon: controlplane.ReconcilerOptions{Interval: 24 * time.Hour,
		CheckConfig: controlplane.CheckSharedDeploy}})
	cfg := config(nil, workload("api", "alice", 2))
	cfg.Settings.AutoApply = true
	cfg.Settings.Origin = meridian.Origin{File: "meridian.yaml", Line: 1, Lines: map[string]int{"deploy.repo": 7}}
	h.Loader.Set("master", snapshot("c1", cfg))
	controlplanetest.WaitFor(t, "the refusal", func() bool { return h.Recon.State().LastError != "" })
	if st := h.Recon.State(); st.PlanID == "" || !strings.Contains(st.LastError, "meridian.yaml:7: deploy.repo:") {
		t.Errorf("state: %+v; want the plan made and the refusal naming meridian.yaml:7 deploy.repo", st)
	}
	if n := h.Applier.Applied(); n != 0 {
		t.Errorf("%d applies of a refused config", n)
	}
}

func TestCheckShared(t *testing.T) {
	module := func(backend string) string {
		return "terraform {\n  " + backend + "\n}\nresource \"terraform_data\" \"x\" {}\n"
	}
	cases := map[string]struct {
		reason string
		repo   string
		tf     string
		want   []string
	}{
		"shared": {
			reason: "a Git URL and a module without backend (kept in PostgreSQL) are shared",
			repo:   "https://git.example.com/deploy.git",
			tf:     module(""),
		},
		"scp-like URL and a remote backend": {
			reason: "git@host:path is a URL; a declared s3 backend is shared",
			repo:   "git@git.example.com:ops/deploy.git",
			tf:     module(`backend "s3" {}`),
		},
		"default deploy repo": {
			reason: "no deploy.repo means a bare repository in each replica's own state dir",
			repo:   "",
			tf:     module(""),
			want:   []string{"meridian.yaml:7: deploy.repo: empty"},
		},
		"local path and local backend": {
			reason: "a path and a local backend are each replica's own, and both are reported",
			repo:   "/srv/deploy.git",
			tf:     module(`backend "local" {}`),
			want:   []string{`meridian.yaml:7: deploy.repo: "/srv/deploy.git" is a path`, `targets/a.yaml:4: terraform.module: module tf declares backend "local"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := config(nil)
			cfg.Settings.Deploy.Repo = tc.repo
			cfg.Settings.Origin = meridian.Origin{File: "meridian.yaml", Line: 1, Lines: map[string]int{"deploy.repo": 7}}
			cfg.Targets = []meridian.Target{{Name: "a", Terraform: &meridian.TerraformModule{Module: "tf"},
				Origin: meridian.Origin{File: "targets/a.yaml", Line: 1, Lines: map[string]int{"terraform.module": 4}}}}
			snap := &controlplane.Snapshot{Config: cfg, FS: fstest.MapFS{"tf/main.tf": {Data: []byte(tc.tf)}}}
			err := controlplane.CheckShared(snap)
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("%s: %v", tc.reason, err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %v, want it to contain %q", tc.reason, err, w)
				}
			}
		})
	}
}

// TestAutoApplyWaitsForHeldTargets: a plan whose Terraform step skipped a
// target because another run held its lock (a leader that died mid-apply,
// whose lease has not run out) is neither applied nor kept: the loop plans
// again until the target is free, then applies the whole plan once.
func TestAutoApplyWaitsForHeldTargets(t *testing.T) {
	h := newHarness(t, controlplanetest.HarnessOptions{Recon: controlplane.ReconcilerOptions{Interval: 24 * time.Hour}})
	held := "aws-a"
	h.Planner.Held.Store(&held)
	cfg := config(nil, workload("api", "alice", 2))
	cfg.Settings.AutoApply = true
	h.Loader.Set("master", snapshot("c1", cfg))
	controlplanetest.WaitFor(t, "two plans of the held target", func() bool {
		return h.Planner.Calls() >= 2 && strings.Contains(h.Recon.State().LastError, "skipped aws-a")
	})
	if n := h.Applier.Applied(); n != 0 {
		t.Fatalf("a plan that skipped a held target was applied %d times", n)
	}
	h.Planner.Held.Store(nil)
	controlplanetest.WaitFor(t, "the apply once the target is free", func() bool { return h.Applier.Applied() == 1 && h.Recon.State().LastError == "" })
	if st := h.Recon.State(); st.AppliedPlanID != st.PlanID {
		t.Errorf("applied %s, the branch's plan is %s", st.AppliedPlanID, st.PlanID)
	}
}
