package deploy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// TestNetworkFollowsLanding: the network objects follow where workloads
// land, not where the plan would put them. A workload the plan holds back
// stays where it runs; a move keeps its old end open; a peer that runs
// nowhere opens nothing and is reported.
func TestNetworkFollowsLanding(t *testing.T) {
	// without drops the placements of w from p.
	without := func(p *meridian.Plan, w string) *meridian.Plan {
		q := *p
		q.Placements = slices.DeleteFunc(slices.Clone(p.Placements), func(pl meridian.Placement) bool { return pl.Workload == w })
		return &q
	}
	blocked := func(p *meridian.Plan, w string, current ...string) *meridian.Plan {
		q := *p
		q.Placements = slices.Clone(p.Placements)
		for i := range q.Placements {
			if q.Placements[i].Workload == w {
				q.Placements[i].Blocked = true
			}
		}
		q.Current = map[string][]string{w: current}
		return &q
	}
	unplaceable := func(p *meridian.Plan, w string, current ...string) *meridian.Plan {
		q := without(p, w)
		q.Unplaceable = []meridian.Unplaceable{{Workload: w, Reason: "no capacity"}}
		q.Current = map[string][]string{w: current}
		return q
	}
	base := networkPlan(t)
	cases := map[string]struct {
		reason   string
		plan     *meridian.Plan
		running  map[string][]string
		has      map[string][]string // file -> substrings it must hold
		lacks    map[string][]string // file -> substrings it must not hold ("" = the file must not exist)
		findings []string
	}{
		"frozen on one edge": {
			reason: "video is frozen on edge-a, where it runs: edge-b gets no policy for it and kafka does not admit edge-b",
			plan:   blocked(base, "video", "edge-a"),
			has:    map[string][]string{"sites/edge-a/networkpolicy.video.yaml": {"10.10.0.0/16"}, "sites/aws-centre/networkpolicy.kafka.yaml": {"10.101.0.0/16"}},
			lacks:  map[string][]string{"sites/edge-b/networkpolicy.video.yaml": {""}, "sites/aws-centre/networkpolicy.kafka.yaml": {"10.102.0.0/16"}},
		},
		"frozen before it ever ran": {
			reason:   "a frozen video that runs nowhere lands nowhere: no site policy, kafka admits no edge, and kafka's rule naming it is reported",
			plan:     blocked(base, "video"),
			lacks:    map[string][]string{"sites/edge-a/networkpolicy.video.yaml": {""}, "sites/edge-b/networkpolicy.video.yaml": {""}, "sites/aws-centre/networkpolicy.kafka.yaml": {"10.101.0.0/16", "10.102.0.0/16"}},
			findings: []string{"MER-DEPLOY-004 kafka  warn", "MER-DEPLOY-004 redis  warn"},
		},
		"unplaceable but running": {
			reason: "kafka is unplaceable but still runs on aws-centre: it keeps its policy there and the edges still reach it",
			plan:   unplaceable(base, "kafka", "aws-centre"),
			has:    map[string][]string{"sites/aws-centre/networkpolicy.kafka.yaml": {"10.101.0.0/16"}, "sites/edge-a/networkpolicy.video.yaml": {"10.10.0.0/16"}},
		},
		"unplaceable peer runs nowhere": {
			reason:   "a peer that runs nowhere opens nothing: video's egress names no centre range, and video and inference hear why",
			plan:     unplaceable(base, "kafka"),
			lacks:    map[string][]string{"sites/aws-centre/networkpolicy.kafka.yaml": {""}, "sites/edge-a/networkpolicy.video.yaml": {"10.10.0.0/16"}},
			findings: []string{"MER-DEPLOY-004 inference  warn", "MER-DEPLOY-004 inference  warn", "MER-DEPLOY-004 video  warn"},
		},
		"move waiting": {
			reason: "redis moves from onprem-centre to aws-centre; until the old end goes, both have policies and video reaches both",
			plan: func() *meridian.Plan {
				q := without(base, "redis")
				q.Placements = append(q.Placements, meridian.Placement{Workload: "redis", Target: "aws-centre", Replicas: 1})
				return q
			}(),
			running: map[string][]string{"redis": {"onprem-centre"}},
			has:     map[string][]string{"sites/onprem-centre/networkpolicy.redis.yaml": {"10.101.0.0/16"}, "sites/aws-centre/networkpolicy.redis.yaml": {"10.101.0.0/16"}, "sites/edge-a/networkpolicy.video.yaml": {"10.40.0.0/16", "10.10.0.0/16"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := deploy.Render(networkConfig(t), tc.plan, deploy.RenderOptions{Running: tc.running})
			if err != nil {
				t.Fatal(err)
			}
			for file, subs := range tc.has {
				got := strings.ReplaceAll(string(r.Tree[file]), `"`, "")
				if got == "" {
					t.Errorf("%s\n%s not rendered", tc.reason, file)
				}
				for _, s := range subs {
					if !strings.Contains(got, s) {
						t.Errorf("%s\n%s lacks %q:\n%s", tc.reason, file, s, got)
					}
				}
			}
			for file, subs := range tc.lacks {
				got, ok := r.Tree[file]
				for _, s := range subs {
					if s == "" && ok {
						t.Errorf("%s\n%s must not be rendered", tc.reason, file)
					} else if s != "" && strings.Contains(string(got), s) {
						t.Errorf("%s\n%s holds %q:\n%s", tc.reason, file, s, got)
					}
				}
			}
			var got []string
			for _, k := range findingKeys(r.Findings) {
				if strings.HasPrefix(k, deploy.RulePeerNowhere) {
					got = append(got, k)
				}
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("%s\nfindings (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestApplyMoveKeepsOldNetworkEnd follows a move through the deploy repo:
// while the old placement still runs, its NetworkPolicy stays and its
// peers may still reach it; the commit that removes it removes both.
func TestApplyMoveKeepsOldNetworkEnd(t *testing.T) {
	dir := newBareRepo(t)
	cfg := networkConfig(t)
	cfg.Settings.Deploy.Repo = dir
	clk := &clock{now: t0}
	opts := deploy.Options{Store: &deploy.MemStore{}, Now: clk.Now, StateDir: t.TempDir()}
	ctx := t.Context()
	if _, err := deploy.Apply(ctx, cfg, networkPlan(t), opts); err != nil {
		t.Fatal(err)
	}
	moved := networkPlan(t)
	moved.ID = "1111222233334444"
	for i := range moved.Placements {
		if moved.Placements[i].Workload == "redis" {
			moved.Placements[i].Target = "aws-centre"
		}
	}
	const (
		oldPolicy   = "sites/onprem-centre/networkpolicy.redis.yaml"
		videoPolicy = "sites/edge-a/networkpolicy.video.yaml"
		onpremCIDR  = "10.40.0.0/16"
	)
	if _, err := deploy.Apply(ctx, cfg, moved, opts); err != nil {
		t.Fatal(err)
	}
	st := readRepo(t, dir, "main", "clusters/prod")
	if _, ok := st.files[oldPolicy]; !ok {
		t.Errorf("redis still runs on onprem-centre until aws-centre is up: %s must stay", oldPolicy)
	}
	if !strings.Contains(string(st.files[videoPolicy]), onpremCIDR) {
		t.Errorf("video must still reach redis on onprem-centre while the move waits:\n%s", st.files[videoPolicy])
	}
	if _, ok := st.files["sites/aws-centre/networkpolicy.redis.yaml"]; !ok {
		t.Error("the new end of the move has no policy")
	}
	clk.Set(t0.Add(time.Hour))
	res, err := deploy.Apply(ctx, cfg, moved, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"redis onprem-centre->aws-centre completed"}, moveSummary(res)); diff != "" {
		t.Fatalf("the move must complete after move_grace (-want +got):\n%s", diff)
	}
	st = readRepo(t, dir, "main", "clusters/prod")
	if _, ok := st.files[oldPolicy]; ok {
		t.Errorf("the commit removing redis from onprem-centre must remove %s", oldPolicy)
	}
	if strings.Contains(string(st.files[videoPolicy]), onpremCIDR) {
		t.Errorf("once redis left onprem-centre, video may no longer send there:\n%s", st.files[videoPolicy])
	}
}
