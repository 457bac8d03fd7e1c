package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/gitops"
	gitopsconfig "github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/gittest"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store"
)

const (
	historyBranch = "main"
	historyRepoID = "repo-hybrid"
)

// historyRepo is a Git repo holding a copy of examples/hybrid, committed
// with the git CLI as a user would.
type historyRepo struct {
	t   *testing.T
	dir string
}

func newHistoryRepo(t *testing.T) *historyRepo {
	t.Helper()
	gittest.CLI(t)
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(t.TempDir(), "hybrid")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(filepath.Dir(file), "..", "examples", "hybrid"))); err != nil {
		t.Fatal(err)
	}
	r := &historyRepo{t: t, dir: dir}
	r.git("init", "-q", "-b", historyBranch)
	return r
}

func (r *historyRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=test", "-c", "user.email=test@example.com",
		"-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// edit rewrites a file of the repo: replace old with new (old "" creates
// or overwrites the file with new).
func (r *historyRepo) edit(path, old, new string) {
	r.t.Helper()
	p := filepath.Join(r.dir, path)
	if old == "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(new), 0o644); err != nil {
			r.t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		r.t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything and returns the new head.
func (r *historyRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// plan loads the repo at commit as the server does and plans it with the
// real planner, without Terraform.
func (r *historyRepo) plan(ctx context.Context, commit string) (*meridian.Config, *meridian.Plan) {
	r.t.Helper()
	snap, err := gitops.Load(ctx, r.dir, commit, gitops.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	cfg, err := gitopsconfig.Load(snap.FS)
	if err != nil {
		r.t.Fatal(err)
	}
	pl, err := planner.New(planner.WithTerraform(planner.NoTerraform{Reason: "test"}))
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := pl.Plan(ctx, planner.Input{Config: cfg, FS: snap.FS, Repo: snap.Source, Commit: snap.Commit})
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg, p
}

// historyClock is a settable clock for the recorder.
type historyClock struct{ now time.Time }

func (c *historyClock) Now() time.Time { return c.now }

// TestFindingLifecycle drives one finding through its life on a real Git
// repo: a commit drops docs-site's owner tag (MER-TAG-001 opens), the next
// restores it (resolved, with both commits), the third drops it again
// under a waiver (waived), and a plan after the waiver's expiry shows it
// open again, saying why.
func TestFindingLifecycle(t *testing.T) {
	ctx := context.Background()
	repo := newHistoryRepo(t)
	base := repo.commit("the example")
	db := controlplanetest.OpenSQLite(t)
	clk := &historyClock{now: time.Now().UTC()}
	var notified int64
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{Now: clk.Now, Notify: func(id int64) { notified = id }})

	const workloadFile = "workloads/docs-site.yaml"
	const ownerLine = "  owner: team-platform\n"
	target := meridian.Finding{Rule: "MER-TAG-001", Workload: "docs-site", Field: "tags.owner"}
	fp := meridian.Fingerprint(target)
	expires := clk.now.AddDate(0, 0, 10).Format(time.DateOnly)
	waiver := fmt.Sprintf("apiVersion: meridian/v1\nkind: Waiver\nrule: MER-TAG-001\nworkload: docs-site\n"+
		"reason: the owner arrives with the team split\nowner: alice@example.com\nexpires: %s\n", expires)

	var commits []string
	steps := []struct {
		name string
		// change edits the repo and commits; nil re-plans the head.
		change func() string
		// after moves the recorder's clock before the plan.
		after      time.Duration
		wantEvents []meridian.EventType
		check      func(t *testing.T, r meridian.FindingRecord)
	}{
		{
			name:       "the example has no MER-TAG-001",
			change:     func() string { return base },
			after:      time.Minute,
			wantEvents: nil,
		},
		{
			name: "dropping the owner tag opens the finding",
			change: func() string {
				repo.edit(workloadFile, ownerLine, "")
				return repo.commit("drop docs-site's owner")
			},
			after:      time.Hour,
			wantEvents: []meridian.EventType{meridian.EventFindingOpened},
			check: func(t *testing.T, r meridian.FindingRecord) {
				want := historyLifeWant(meridian.FindingOpen, commits[1], commits[1], "")
				if diff := cmp.Diff(want, historyLifeOf(r)); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				if r.File != workloadFile || r.Line == 0 || r.Team != "unowned" {
					t.Errorf("record points at %s:%d, team %q; want %s and the team unowned", r.File, r.Line, r.Team, workloadFile)
				}
			},
		},
		{
			name: "restoring it resolves the finding, keeping both commits",
			change: func() string {
				repo.edit(workloadFile, "tags:\n", "tags:\n"+ownerLine)
				return repo.commit("restore docs-site's owner")
			},
			after:      time.Hour,
			wantEvents: []meridian.EventType{meridian.EventFindingResolved},
			check: func(t *testing.T, r meridian.FindingRecord) {
				want := historyLifeWant(meridian.FindingResolved, commits[1], commits[1], commits[2])
				if diff := cmp.Diff(want, historyLifeOf(r)); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				if r.LastSeen.Before(r.FirstSeen) || !r.ResolvedAt.After(r.LastSeen) {
					t.Errorf("first seen %v, last seen %v, resolved at %v: want first <= last < resolved", r.FirstSeen, r.LastSeen, r.ResolvedAt)
				}
			},
		},
		{
			name: "dropping it again under a waiver reopens it as waived",
			change: func() string {
				repo.edit(workloadFile, ownerLine, "")
				repo.edit("waivers/docs-site.yaml", "", waiver)
				return repo.commit("drop the owner again, waived")
			},
			after:      time.Hour,
			wantEvents: []meridian.EventType{meridian.EventFindingWaived},
			check: func(t *testing.T, r meridian.FindingRecord) {
				want := historyLifeWant(meridian.FindingWaived, commits[3], commits[3], "")
				if diff := cmp.Diff(want, historyLifeOf(r)); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				if r.Waiver == nil || r.Waiver.Expired || r.Waiver.Owner != "alice@example.com" || r.Waiver.File != "waivers/docs-site.yaml" {
					t.Errorf("waiver = %+v, want alice's active waiver from waivers/docs-site.yaml", r.Waiver)
				}
			},
		},
		{
			name:       "after the waiver's expiry the finding is open again and says so",
			change:     nil,
			after:      30 * 24 * time.Hour,
			wantEvents: []meridian.EventType{meridian.EventFindingWaiverExpired},
			check: func(t *testing.T, r meridian.FindingRecord) {
				want := historyLifeWant(meridian.FindingOpen, commits[3], commits[3], "")
				if diff := cmp.Diff(want, historyLifeOf(r)); diff != "" {
					t.Errorf("record (-want +got):\n%s", diff)
				}
				if r.Waiver == nil || !r.Waiver.Expired {
					t.Errorf("waiver = %+v, want it kept and marked expired", r.Waiver)
				}
				if wantNote := "waiver by alice@example.com expired on " + expires; r.Note != wantNote {
					t.Errorf("note = %q, want %q", r.Note, wantNote)
				}
			},
		},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			var commit string
			if step.change != nil {
				commit = step.change()
			} else {
				commit = commits[len(commits)-1]
			}
			commits = append(commits, commit)
			clk.now = clk.now.Add(step.after)
			cfg, plan := repo.plan(ctx, commit)
			evs, err := rec.Planned(ctx, historyRepoID, historyBranch, commit, cfg, plan)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 || evs[0].Type != meridian.EventPlanCreated || evs[0].PlanID != plan.ID || evs[0].Commit != commit {
				t.Fatalf("first event = %+v, want plan.created for plan %s at %s", evs, plan.ID, commit)
			}
			if notified != evs[len(evs)-1].ID {
				t.Errorf("Notify got %d, want the last event's ID %d", notified, evs[len(evs)-1].ID)
			}
			var got []meridian.EventType
			for _, e := range evs[1:] {
				if e.Fingerprint == fp {
					got = append(got, e.Type)
				}
			}
			if diff := cmp.Diff(step.wantEvents, got); diff != "" {
				t.Errorf("events about the finding (-want +got):\n%s", diff)
			}
			if step.check == nil {
				return
			}
			recs, err := db.FindingRecords(ctx, store.FindingFilter{RepoID: historyRepoID, Branch: historyBranch, Rule: target.Rule, Workload: target.Workload})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].Fingerprint != fp {
				t.Fatalf("records = %+v, want the one record of %s on docs-site", recs, target.Rule)
			}
			step.check(t, recs[0])
		})
		if !ok {
			break
		}
	}

	// The events are in the feed, in order, and the store agrees.
	all, err := db.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var feed []meridian.EventType
	for _, e := range all {
		if e.Fingerprint == fp {
			feed = append(feed, e.Type)
		}
	}
	want := []meridian.EventType{meridian.EventFindingOpened, meridian.EventFindingResolved, meridian.EventFindingWaived, meridian.EventFindingWaiverExpired}
	if diff := cmp.Diff(want, feed); diff != "" {
		t.Errorf("the feed's events about the finding (-want +got):\n%s", diff)
	}
}

// historyLife is the part of a record the lifecycle test compares.
type historyLife struct {
	State                                   meridian.FindingState
	FirstCommit, LastCommit, ResolvedCommit string
}

func historyLifeWant(state meridian.FindingState, first, last, resolved string) historyLife {
	return historyLife{State: state, FirstCommit: first, LastCommit: last, ResolvedCommit: resolved}
}

func historyLifeOf(r meridian.FindingRecord) historyLife {
	return historyLife{State: r.State, FirstCommit: r.FirstCommit, LastCommit: r.LastCommit, ResolvedCommit: r.ResolvedCommit}
}

// TestCostHistory records three commits of the example and checks the
// planned cost history against the real plans: each point's total is the
// plan's, each dimension sums to it, and the by-target figures are the
// plan's placements summed by hand.
func TestCostHistory(t *testing.T) {
	ctx := context.Background()
	repo := newHistoryRepo(t)
	db := controlplanetest.OpenSQLite(t)
	clk := &historyClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{Now: clk.Now})

	type planned struct {
		commit string
		cfg    *meridian.Config
		plan   *meridian.Plan
	}
	var plans []planned
	changes := []func() string{
		func() string { return repo.commit("the example") },
		func() string {
			repo.edit("workloads/docs-site.yaml", "  min: 1\n", "  min: 3\n")
			return repo.commit("docs-site: three replicas at least")
		},
		func() string {
			repo.edit("workloads/docs-site.yaml", "  env: prod\n", "  env: prod\n  team: web\n")
			return repo.commit("docs-site: team web")
		},
	}
	for _, change := range changes {
		commit := change()
		clk.now = clk.now.Add(time.Hour)
		cfg, plan := repo.plan(ctx, commit)
		if _, err := rec.Planned(ctx, historyRepoID, historyBranch, commit, cfg, plan); err != nil {
			t.Fatal(err)
		}
		plans = append(plans, planned{commit, cfg, plan})
	}
	if plans[0].plan.TotalMonthlyCost == plans[1].plan.TotalMonthlyCost {
		t.Fatalf("three replicas of docs-site cost the same as one (%v): the test would prove nothing", plans[0].plan.TotalMonthlyCost)
	}

	for _, dim := range meridian.CostDimensions() {
		t.Run(string(dim), func(t *testing.T) {
			points, err := db.CostHistory(ctx, store.CostFilter{RepoID: historyRepoID, Branch: historyBranch, Kind: meridian.CostPlanned, Dimension: dim})
			if err != nil {
				t.Fatal(err)
			}
			if len(points) != len(plans) {
				t.Fatalf("got %d points, want one per plan (%d)", len(points), len(plans))
			}
			for i, p := range points {
				want := plans[i]
				if p.Commit != want.commit || p.PlanID != want.plan.ID || p.Kind != meridian.CostPlanned {
					t.Errorf("point %d is %s %s at %s, want the plan %s at %s", i, p.Kind, p.PlanID, p.Commit, want.plan.ID, want.commit)
				}
				// Placements count at the cent, as the saved plan keeps
				// them: the total may differ from the plan's unrounded sum
				// by a cent per few placements, never more.
				var cents meridian.Money
				for _, pl := range want.plan.Placements {
					cents += pl.MonthlyCost.Round()
				}
				if !nearCent(p.Total, cents) || math.Abs(float64(p.Total-want.plan.TotalMonthlyCost)) > 0.005*float64(len(want.plan.Placements)) {
					t.Errorf("point %d: total %v, want the plan's placements at the cent, %v (plan total %v)", i, p.Total, cents, want.plan.TotalMonthlyCost)
				}
				var sum meridian.Money
				for _, v := range p.By[dim] {
					sum += v
				}
				if !nearCent(sum, p.Total) {
					t.Errorf("point %d: %s values sum to %v, want the total %v", i, dim, sum, p.Total)
				}
				if dim == meridian.CostByTarget {
					byHand := map[string]meridian.Money{}
					for _, pl := range want.plan.Placements {
						byHand[pl.Target] += pl.MonthlyCost.Round()
					}
					if diff := cmp.Diff(byHand, p.By[dim], cmp.Comparer(nearCent)); diff != "" {
						t.Errorf("point %d by target (-plan +history):\n%s", i, diff)
					}
				}
			}
			if dim == meridian.CostByTeam {
				if _, ok := points[1].By[dim]["web"]; ok {
					t.Errorf("team web has cost before commit 3 gave docs-site that team")
				}
				var docs meridian.Money
				for _, pl := range plans[2].plan.Placements {
					if pl.Workload == "docs-site" {
						docs += pl.MonthlyCost
					}
				}
				if got := points[2].By[dim]["web"]; docs == 0 || !nearCent(got, docs) {
					t.Errorf("team web after commit 3: %v, want docs-site's %v", got, docs)
				}
			}
		})
	}

	// Since keeps the later points only.
	points, err := db.CostHistory(ctx, store.CostFilter{RepoID: historyRepoID, Kind: meridian.CostPlanned, Since: clk.now.Add(-90 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 || points[0].Commit != plans[1].commit {
		t.Errorf("since the second plan: %d points, want the last two", len(points))
	}
}

// nearCent compares money to the cent: the store keeps what the planner
// computed, and sums of floats may differ in the last bits.
func nearCent(a, b meridian.Money) bool { return math.Abs(float64(a-b)) < 0.005 }

// TestRecorderEvents checks the events of applies, drift, locks and moves,
// and that only a successful apply records an applied cost point.
func TestRecorderEvents(t *testing.T) {
	ctx := context.Background()
	db := controlplanetest.OpenSQLite(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var notified int64
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{Now: func() time.Time { return at }, Notify: func(id int64) { notified = id }})
	cfg := &meridian.Config{
		Targets:   []meridian.Target{{Name: "aws-a", Provider: meridian.ProviderAWS}},
		Workloads: []meridian.Workload{{Name: "api", Tags: map[string]string{"team": "payments", "env": "prod"}}},
	}
	plan := &meridian.Plan{ID: "p1", Commit: "c1", TotalMonthlyCost: 120,
		Placements: []meridian.Placement{{Workload: "api", Target: "aws-a", Replicas: 2, MonthlyCost: 120}}}
	a := controlplane.HistoryApply{RepoID: historyRepoID, Branch: historyBranch, RunID: "r1", Config: cfg, Plan: plan}

	cases := []struct {
		name    string
		do      func() ([]meridian.Event, error)
		want    []meridian.EventType
		applied int // applied cost points after the step
	}{
		{"apply started", func() ([]meridian.Event, error) {
			e, err := rec.ApplyStarted(ctx, a)
			return []meridian.Event{e}, err
		}, []meridian.EventType{meridian.EventApplyStarted}, 0},
		{"a failed apply records no applied cost", func() ([]meridian.Event, error) {
			e, err := rec.ApplyFinished(ctx, a, errors.New("target aws-a: quota exceeded"))
			return []meridian.Event{e}, err
		}, []meridian.EventType{meridian.EventApplyFailed}, 0},
		{"a successful apply records what now runs", func() ([]meridian.Event, error) {
			e, err := rec.ApplyFinished(ctx, a, nil)
			return []meridian.Event{e}, err
		}, []meridian.EventType{meridian.EventApplySucceeded}, 1},
		{"drift opens", func() ([]meridian.Event, error) {
			return rec.Drift(ctx, historyRepoID, []meridian.DriftEngine{meridian.DriftEngineTerraform},
				[]meridian.DriftRecord{{RepoID: historyRepoID, Engine: meridian.DriftEngineTerraform, Target: "aws-a", Resource: "aws_instance.api", Action: "change"}})
		}, []meridian.EventType{meridian.EventDriftOpened}, 1},
		{"drift clears when the check no longer sees it", func() ([]meridian.Event, error) {
			return rec.Drift(ctx, historyRepoID, []meridian.DriftEngine{meridian.DriftEngineTerraform}, nil)
		}, []meridian.EventType{meridian.EventDriftCleared}, 1},
		{"locks and moves", func() ([]meridian.Event, error) {
			return rec.Record(ctx, meridian.Event{Type: meridian.EventLockAcquired, RepoID: historyRepoID, Target: "aws-a"},
				meridian.Event{Type: meridian.EventLockReleased, RepoID: historyRepoID, Target: "aws-a"})
		}, []meridian.EventType{meridian.EventLockAcquired, meridian.EventLockReleased}, 1},
	}
	var last int64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			var got []meridian.EventType
			for _, e := range evs {
				got = append(got, e.Type)
				if e.ID <= last {
					t.Errorf("event %s has ID %d after %d: IDs must grow", e.Type, e.ID, last)
				}
				last = e.ID
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if notified != last {
				t.Errorf("Notify got %d, want %d", notified, last)
			}
			points, err := db.CostHistory(ctx, store.CostFilter{RepoID: historyRepoID, Kind: meridian.CostApplied})
			if err != nil {
				t.Fatal(err)
			}
			if len(points) != tc.applied {
				t.Fatalf("%d applied cost points, want %d", len(points), tc.applied)
			}
			if tc.applied > 0 && (points[0].Total != 120 || points[0].By[meridian.CostByTeam]["payments"] != 120 || points[0].Commit != "c1") {
				t.Errorf("applied point = %+v, want plan p1's 120 for team payments at c1", points[0])
			}
		})
	}
}
