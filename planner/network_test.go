package planner_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/examples"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/planner"
)

// planFS loads and plans the config repo fsys with no ledger.
func planFS(t testing.TB, fsys fs.FS) (*meridian.Config, *meridian.Plan) {
	t.Helper()
	cfg, err := config.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Commit: "c0ffee"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan
}

const netTarget = `apiVersion: meridian/v1
kind: Target
name: %s
provider: onprem
region: %s
jurisdiction: eu
log_retention_max_days: 365
capacity: {vcpu: 64, memory_gib: 256}
pricing: {vcpu_hour: %s, gib_hour: 0.001, egress_gb: 0.01, storage_gb_month: 0.01}
`

func target(name, price, network string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(fmt.Sprintf(netTarget, name, name, price) + network)}
}

// TestPlacementHonoursNetwork plans a workload whose network needs rule
// out the cheapest target: it must land on the compliant one, and the
// explanation must name the rule that rejected the cheap one.
func TestPlacementHonoursNetwork(t *testing.T) {
	const workload = `apiVersion: meridian/v1
kind: Workload
name: ledger
tags: {owner: a, cost-center: "1", env: prod}
replicas: {min: 1}
per_replica: {vcpu: 1, memory_gib: 1}
network:
`
	cases := map[string]struct {
		reason    string
		needs     string
		cheap     string
		wantRule  string
		wantCheap bool
	}{
		"private-only never on an internet-only target": {
			reason:   "the cheap target reaches the others only across the internet",
			needs:    "  private_only: true\n",
			cheap:    "network: {model: internet, internet_egress: true}\n",
			wantRule: "MER-NET-001",
		},
		"private-only never on a target without a network block": {
			reason:   "a target that declares nothing offers no private connectivity",
			needs:    "  private_only: true\n",
			wantRule: "MER-NET-001",
		},
		"isolation class": {
			reason:   "the cheap target does not enforce the class",
			needs:    "  isolation: pci\n",
			cheap:    "network: {model: vlan, private: true, isolation_classes: [internal]}\n",
			wantRule: "MER-NET-002",
		},
		"peers need a way out": {
			reason:   "the cheap target is an island",
			needs:    "  peers: [other]\n",
			cheap:    "network: {model: vlan}\n",
			wantRule: "MER-NET-003",
		},
		"no needs": {
			reason:    "without network needs the cheapest target wins",
			needs:     "  selector: {app: ledger}\n",
			cheap:     "network: {model: internet, internet_egress: true}\n",
			wantCheap: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"targets/cheap.yaml":    target("cheap", "0.001", tc.cheap),
				"targets/private.yaml":  target("private", "0.1", "network: {model: vlan-nsxt, private: true, isolation_classes: [pci]}\n"),
				"workloads/ledger.yaml": {Data: []byte(workload + tc.needs)},
				"workloads/other.yaml":  {Data: []byte(strings.Replace(workload, "name: ledger", "name: other", 1) + "  selector: {app: other}\n")},
			}
			_, plan := planFS(t, fsys)
			var got *meridian.Placement
			for i := range plan.Placements {
				if plan.Placements[i].Workload == "ledger" {
					got = &plan.Placements[i]
				}
			}
			if got == nil {
				t.Fatalf("ledger not placed; unplaceable: %+v", plan.Unplaceable)
			}
			if tc.wantCheap {
				if got.Target != "cheap" {
					t.Errorf("%s: placed on %s", tc.reason, got.Target)
				}
				return
			}
			if got.Target != "private" {
				t.Fatalf("%s: placed on %s, want private", tc.reason, got.Target)
			}
			found := false
			for _, g := range got.Explanation.Rejected {
				if g.Rule == tc.wantRule && len(g.Nearest) == 1 && g.Nearest[0] == "cheap" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: explanation must reject cheap under %s, got %+v", tc.reason, tc.wantRule, got.Explanation.Rejected)
			}
		})
	}
}

// TestPlanEdgeFifty plans examples/edge-50: video analytics on every one
// of the 50 edge sites and nowhere else, the centre services off the
// edges (which do not enforce their isolation class), and no blocking
// finding.
func TestPlanEdgeFifty(t *testing.T) {
	cfg, plan := planFS(t, examples.EdgeFifty())
	if plan.Blocking() {
		t.Fatalf("edge-50 must plan without blocking findings: %+v %+v", plan.Findings, plan.Unplaceable)
	}
	edges := map[string]bool{}
	for _, tg := range cfg.Targets {
		if strings.HasPrefix(tg.Name, "edge-") {
			edges[tg.Name] = true
		}
	}
	if len(edges) != 50 {
		t.Fatalf("edge-50 has %d edge sites", len(edges))
	}
	video := map[string]bool{}
	for _, pl := range plan.Placements {
		switch {
		case pl.Workload == "video-analytics":
			video[pl.Target] = true
		case edges[pl.Target]:
			t.Errorf("%s placed on edge site %s", pl.Workload, pl.Target)
		}
		if pl.Workload == "kafka" {
			rule := ""
			for _, g := range pl.Explanation.Rejected {
				if g.Count == 50 && g.Rule == "MER-NET-002" {
					rule = g.Rule
				}
			}
			if rule == "" {
				t.Errorf("kafka's explanation must reject the 50 edges under MER-NET-002: %+v", pl.Explanation.Rejected)
			}
		}
	}
	if len(video) != 50 {
		t.Errorf("video-analytics runs on %d sites, want all 50", len(video))
	}
}

// BenchmarkPlanEdgeFifty measures loading and planning examples/edge-50:
// policies over 55 targets, a spread of 50 and the centre services.
func BenchmarkPlanEdgeFifty(b *testing.B) {
	fsys := examples.EdgeFifty()
	for b.Loop() {
		planFS(b, fsys)
	}
}

// TestPlanJudgesLandedPeers: a flow is judged where both ends landed. The
// private-only other is pinned to the internet-only edge while ledger
// lands on the private target: ledger's peer is out of reach, which the
// plan reports as a blocking MER-NET-003 on ledger's landed target.
func TestPlanJudgesLandedPeers(t *testing.T) {
	const workload = `apiVersion: meridian/v1
kind: Workload
name: %s
tags: {owner: a, cost-center: "1", env: prod}
replicas: {min: 1}
per_replica: {vcpu: 1, memory_gib: 1}
%snetwork:
  selector: {app: %s}
%s`
	fsys := fstest.MapFS{
		"targets/edge.yaml":    target("edge", "0.001", "network: {model: internet, internet_egress: true}\n"),
		"targets/private.yaml": target("private", "0.1", "network: {model: vlan-nsxt, private: true}\n"),
		"workloads/ledger.yaml": {Data: []byte(fmt.Sprintf(workload, "ledger", "pin: private\n", "ledger",
			"  peers: [other]\n"))},
		"workloads/other.yaml": {Data: []byte(fmt.Sprintf(workload, "other", "pin: edge\n", "other", ""))},
	}
	_, plan := planFS(t, fsys)
	var got []string
	for _, f := range plan.Findings {
		if f.Rule == "MER-NET-003" {
			got = append(got, fmt.Sprintf("%s %s@%s %s: %s", f.Severity, f.Workload, f.Target, f.Field, f.Message))
		}
	}
	want := "deny ledger@private network.peers.0: other runs on edge, and no path joins it to this target: the targets are not both private, and this target has no internet egress"
	if len(got) != 1 || got[0] != want {
		t.Errorf("want one finding %q, got %q", want, got)
	}
	if !plan.Blocking() {
		t.Error("a flow without a path between landed workloads must block the plan")
	}
}
