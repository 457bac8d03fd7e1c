package controlplane_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store"
)

// condView is what a test checks of a condition: its identity and the
// words an operator reads, not the hash.
type condView struct {
	Source   meridian.AlertSource
	Name     string
	Severity meridian.Severity
	Workload string
	Target   string
	Team     string
	File     string
	Line     int
	Frozen   []meridian.Frozen
	// Says are substrings the summary must hold; Fix of the remediation.
	Says []string
	Fix  string
}

func checkConditions(t *testing.T, got []meridian.ConditionRecord, want []condView) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d conditions, want %d: %+v", len(got), len(want), got)
	}
	// The order is by fingerprint; match each wanted view by its subject.
	for _, w := range want {
		var c *meridian.ConditionRecord
		for i := range got {
			if got[i].Source == w.Source && got[i].Workload == w.Workload && got[i].Target == w.Target {
				c = &got[i]
			}
		}
		if c == nil {
			t.Errorf("no %s condition of %s on %q in %+v", w.Source, w.Workload, w.Target, got)
			continue
		}
		gv := condView{Source: c.Source, Name: c.Name, Severity: c.Severity, Workload: c.Workload, Target: c.Target, Team: c.Team,
			File: c.File, Line: c.Line, Frozen: c.Frozen, Says: w.Says, Fix: w.Fix}
		if diff := cmp.Diff(w, gv); diff != "" {
			t.Errorf("%s condition of %s (-want +got):\n%s", w.Source, w.Workload, diff)
		}
		for _, s := range w.Says {
			if !strings.Contains(c.Summary, s) {
				t.Errorf("%s condition of %s: summary %q lacks %q", w.Source, w.Workload, c.Summary, s)
			}
		}
		if !strings.Contains(c.Remediation, w.Fix) {
			t.Errorf("%s condition of %s: remediation %q lacks %q", w.Source, w.Workload, c.Remediation, w.Fix)
		}
		if c.Fingerprint == "" || c.RepoID != "repo" || c.Branch != "main" {
			t.Errorf("%s condition of %s: fingerprint %q repo %q branch %q", w.Source, w.Workload, c.Fingerprint, c.RepoID, c.Branch)
		}
	}
}

func TestPlanConditions(t *testing.T) {
	api := controlplanetest.Workload("api", "alice", 2)
	api.PerReplica = meridian.PerReplica{VCPU: 1, MemoryGiB: 2, Capacity: 100}
	api.Replicas.Max = 5
	api.Origin.Lines = map[string]int{"load": 9}
	web := controlplanetest.Workload("web", "", 1)
	web.PerReplica = meridian.PerReplica{VCPU: 2, MemoryGiB: 1}
	web.Tags = map[string]string{"owner": "bob"} // no team: the owner stands in
	cfg := controlplanetest.Config(nil, api, web)
	cfg.Targets[1].Capacity = meridian.Capacity{VCPU: 8, MemoryGiB: 64}
	cfg.Settings.Forecast.Horizon = 4 * time.Hour
	deny := meridian.Finding{Rule: "MER-TAG-001", Severity: meridian.SeverityDeny, Workload: "web", Field: "tags.env",
		File: "workloads/web.yaml", Line: 5, Message: "web lacks the env tag", Remediation: "Add tags.env."}
	forecast := func(peak float64) *meridian.Sizing {
		return &meridian.Sizing{Method: "forecast", Replicas: 5, PeakPq: peak, Quantile: 0.95, Headroom: 0.2}
	}

	cases := map[string]struct {
		reason string
		plan   meridian.Plan
		want   []condView
	}{
		"clean": {
			reason: "A plan with nothing frozen, nothing unplaceable and load within capacity raises nothing.",
			plan: meridian.Plan{Commit: "c1", Placements: []meridian.Placement{
				{Workload: "api", Target: "onprem-b", Replicas: 5, Explanation: meridian.Explanation{Sizing: forecast(300)}}}},
		},
		"frozen by its own finding": {
			reason: "A workload frozen by its own deny finding raises no condition: the finding's alert tells the freeze (the enricher adds the replicas), and one cause is one alert.",
			plan: meridian.Plan{Commit: "c1", Findings: []meridian.Finding{deny},
				Terraform: []meridian.TargetChange{{Target: "aws-a", Frozen: []meridian.Frozen{{Workload: "web", Replicas: 2, Planned: 4}}},
					{Target: "onprem-b", Frozen: []meridian.Frozen{{Workload: "web", Replicas: 0, Planned: 1}}}}},
		},
		"frozen by no finding of its own": {
			reason: "A freeze that no alert of the workload covers is one condition per target, saying at how many replicas.",
			plan: meridian.Plan{Commit: "c1",
				Terraform: []meridian.TargetChange{{Target: "aws-a", Frozen: []meridian.Frozen{{Workload: "web", Replicas: 2, Planned: 4}}},
					{Target: "onprem-b", Frozen: []meridian.Frozen{{Workload: "web", Replicas: 0, Planned: 1}}}}},
			want: []condView{
				{Source: meridian.AlertSourceFrozen, Name: "frozen", Severity: meridian.SeverityWarn, Workload: "web", Target: "aws-a", Team: "bob",
					File: "workloads/web.yaml", Line: 3, Frozen: []meridian.Frozen{{Workload: "web", Replicas: 2, Planned: 4}},
					Says: []string{"frozen at 2 replicas on aws-a", "wants 4", "until its blocking finding is fixed"}},
				{Source: meridian.AlertSourceFrozen, Name: "frozen", Severity: meridian.SeverityWarn, Workload: "web", Target: "onprem-b", Team: "bob",
					File: "workloads/web.yaml", Line: 3, Frozen: []meridian.Frozen{{Workload: "web", Replicas: 0, Planned: 1}},
					Says: []string{"frozen at 0 replicas on onprem-b", "not started there"}},
			},
		},
		"unplaceable": {
			reason: "An unplaceable workload is a deny condition on no target, with the reason and each group of rejected targets.",
			plan: meridian.Plan{Commit: "c1", Unplaceable: []meridian.Unplaceable{{Workload: "api", Reason: "no compliant target with capacity",
				Targets: []meridian.RejectionGroup{{Rule: "MER-JUR-001", Count: 1, Nearest: []string{"aws-a"}},
					{Rule: "capacity", Reason: "needs 2 vCPU, only 1 vCPU left", Count: 5, Nearest: []string{"b", "c", "d"}}}}}},
			want: []condView{{Source: meridian.AlertSourceUnplaceable, Name: "unplaceable", Severity: meridian.SeverityDeny, Workload: "api",
				Team: "team-api", File: "workloads/api.yaml", Line: 3,
				Says: []string{"no compliant target with capacity", "aws-a: MER-JUR-001", "b, c, d and 2 more: needs 2 vCPU, only 1 vCPU left"},
				Fix:  "Relax the workload's requirements"}},
		},
		"capacity ahead": {
			reason: "A forecast peak needing more replicas than the target has room for warns, before the breach, with the numbers.",
			plan: meridian.Plan{Commit: "c1", Placements: []meridian.Placement{
				{Workload: "web", Target: "onprem-b", Replicas: 1},
				// 1000 × 1.2 / 100 = 12 replicas; 8 vCPU − web's 2 leaves room for 6.
				{Workload: "api", Target: "onprem-b", Replicas: 5, Explanation: meridian.Explanation{Sizing: forecast(1000)}}}},
			want: []condView{{Source: meridian.AlertSourceCapacity, Name: "capacity_ahead", Severity: meridian.SeverityWarn, Workload: "api",
				Target: "onprem-b", Team: "team-api", File: "workloads/api.yaml", Line: 9,
				Says: []string{"needs 12 replicas on onprem-b", "room for 6", "over the next 4h0m0s"}, Fix: "Add capacity to onprem-b"}},
		},
		"frozen with a failed target": {
			reason: "When Terraform could not plan a target, the plan cannot tell whether freezes are gone: no frozen condition is decided (PlanSources leaves them as they were).",
			plan: meridian.Plan{Commit: "c1", Findings: []meridian.Finding{deny},
				Terraform: []meridian.TargetChange{{Target: "aws-a", Frozen: []meridian.Frozen{{Workload: "web", Replicas: 2, Planned: 4}}},
					{Target: "onprem-b", Status: meridian.ChangeStatusFailed, Error: "provider crashed"}}},
		},
		"capacity of an unlimited target": {
			reason: "A cloud target without a declared capacity can host any forecast: no warning.",
			plan: meridian.Plan{Commit: "c1", Placements: []meridian.Placement{
				{Workload: "api", Target: "aws-a", Replicas: 5, Explanation: meridian.Explanation{Sizing: forecast(100000)}}}},
		},
		"capacity that fits": {
			reason: "A forecast above replicas.max that the target can still host is not a capacity problem.",
			plan: meridian.Plan{Commit: "c1", Placements: []meridian.Placement{
				// 600 × 1.2 / 100 = 7.2 → 8 replicas of 1 vCPU fit in 8.
				{Workload: "api", Target: "onprem-b", Replicas: 5, Explanation: meridian.Explanation{Sizing: forecast(600)}}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := controlplane.PlanConditions(cfg, &tc.plan, "repo", "main")
			sources := controlplane.PlanSources(&tc.plan)
			for _, c := range got {
				if !slices.Contains(sources, c.Source) {
					t.Errorf("condition of source %s outside the plan's sources %v", c.Source, sources)
				}
			}
			t.Log(tc.reason)
			checkConditions(t, got, tc.want)
		})
	}
}

// TestConditionFingerprints: the same cause keeps its fingerprint from
// plan to plan whatever its summary says; another target or workload is
// another condition.
func TestConditionFingerprints(t *testing.T) {
	cfg := controlplanetest.Config(nil, controlplanetest.Workload("web", "bob", 1))
	plan := func(commit string, replicas int, target string) *meridian.Plan {
		return &meridian.Plan{Commit: commit, Terraform: []meridian.TargetChange{{Target: target,
			Frozen: []meridian.Frozen{{Workload: "web", Replicas: replicas, Planned: 3}}}}}
	}
	fp := func(p *meridian.Plan) string {
		cs := controlplane.PlanConditions(cfg, p, "repo", "main")
		if len(cs) != 1 {
			t.Fatalf("conditions: %+v", cs)
		}
		return cs[0].Fingerprint
	}
	first := fp(plan("c1", 1, "aws-a"))
	if again := fp(plan("c2", 2, "aws-a")); again != first {
		t.Errorf("the same frozen workload on a later commit has fingerprint %s, want %s", again, first)
	}
	if other := fp(plan("c1", 1, "onprem-b")); other == first {
		t.Errorf("frozen on another target shares fingerprint %s", first)
	}
}

func TestLockConditions(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	lock := func(target string, token int64, age time.Duration) store.Lock {
		return store.Lock{Key: store.LockKey{RepoID: "repo", Target: target}, Token: token, Owner: store.Owner{Actor: "serve:ci"},
			RunID: "apply-1", AcquiredAt: now.Add(-age)}
	}
	cases := map[string]struct {
		reason string
		locks  []store.Lock
		maxAge time.Duration
		want   []string // targets
	}{
		"young":    {reason: "A lock younger than the limit is fine.", locks: []store.Lock{lock("aws-a", 1, 30*time.Minute)}, maxAge: time.Hour},
		"old":      {reason: "A lock older than the limit is a condition.", locks: []store.Lock{lock("aws-a", 1, 2*time.Hour), lock("onprem-b", 4, time.Minute)}, maxAge: time.Hour, want: []string{"aws-a"}},
		"disabled": {reason: "A zero limit turns the check off.", locks: []store.Lock{lock("aws-a", 1, 200*time.Hour)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := controlplane.LockConditions("repo", tc.locks, now, tc.maxAge)
			var targets []string
			for _, c := range got {
				targets = append(targets, c.Target)
				if c.Source != meridian.AlertSourceLock || c.Name != "lock_held" || !strings.Contains(c.Summary, "serve:ci") ||
					!strings.Contains(c.Summary, "2h0m0s") || !strings.Contains(c.Remediation, "meridian unlock "+c.Target) {
					t.Errorf("lock condition: %+v", c)
				}
			}
			if diff := cmp.Diff(tc.want, targets); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
	// A new lock on the same target is a new condition.
	a := controlplane.LockConditions("repo", []store.Lock{lock("aws-a", 1, 2*time.Hour)}, now, time.Hour)
	b := controlplane.LockConditions("repo", []store.Lock{lock("aws-a", 2, 2*time.Hour)}, now, time.Hour)
	if a[0].Fingerprint == b[0].Fingerprint {
		t.Error("two locks of one target share a fingerprint")
	}
}

// TestRecorderConditions: conditions open and clear in the real store,
// with their events, and only for the sources checked; the feed is woken.
func TestRecorderConditions(t *testing.T) {
	ctx := context.Background()
	db := controlplanetest.OpenSQLite(t)
	var notified int64
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{Notify: func(id int64) { notified = id }})
	cfg := controlplanetest.Config(nil, controlplanetest.Workload("web", "bob", 1))
	plan := &meridian.Plan{Commit: "c1", Terraform: []meridian.TargetChange{{Target: "aws-a",
		Frozen: []meridian.Frozen{{Workload: "web", Replicas: 1, Planned: 3}}}}}
	repoID := controlplanetest.RepoID
	if err := db.EnsureRepo(ctx, store.Repo{ID: repoID, Source: controlplanetest.Source}); err != nil {
		t.Fatal(err)
	}
	lockCond := controlplane.LockConditions(repoID, []store.Lock{{Key: store.LockKey{RepoID: repoID, Target: "aws-a"}, Token: 1,
		AcquiredAt: time.Now().Add(-3 * time.Hour)}}, time.Now(), time.Hour)

	types := func(evs []meridian.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, string(e.Type)+" "+e.Workload+"@"+e.Target)
		}
		return out
	}
	steps := []struct {
		reason  string
		sources []meridian.AlertSource
		current []meridian.ConditionRecord
		want    []string
	}{
		{"the plan's frozen workload opens", controlplane.PlanConditionSources, controlplane.PlanConditions(cfg, plan, repoID, "main"),
			[]string{"condition.opened web@aws-a"}},
		{"a lock check opens its own", []meridian.AlertSource{meridian.AlertSourceLock}, lockCond, []string{"condition.opened @aws-a"}},
		{"the same plan again changes nothing", controlplane.PlanConditionSources, controlplane.PlanConditions(cfg, plan, repoID, "main"), nil},
		{"a clean plan clears the frozen one, not the lock", controlplane.PlanConditionSources, nil, []string{"condition.cleared web@aws-a"}},
	}
	for _, s := range steps {
		evs, err := rec.Conditions(ctx, repoID, s.sources, s.current)
		if err != nil {
			t.Fatalf("%s: %v", s.reason, err)
		}
		if diff := cmp.Diff(s.want, types(evs)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.reason, diff)
		}
		if len(evs) > 0 && notified != evs[len(evs)-1].ID {
			t.Errorf("%s: feed woken at %d, want %d", s.reason, notified, evs[len(evs)-1].ID)
		}
	}
	open, err := db.OpenConditions(ctx, repoID)
	if err != nil || len(open) != 1 || open[0].Source != meridian.AlertSourceLock {
		t.Fatalf("open conditions: %+v, %v", open, err)
	}
}
