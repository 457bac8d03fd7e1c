package meridian_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestParsePort(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    meridian.Port
		wantErr string
	}{
		"bare port is TCP":     {in: "8080", want: meridian.Port{Protocol: "TCP", Port: 8080}},
		"protocol any case":    {in: "53/Udp", want: meridian.Port{Protocol: "UDP", Port: 53}},
		"range":                {in: "9000-9100/sctp", want: meridian.Port{Protocol: "SCTP", Port: 9000, EndPort: 9100}},
		"one-port range":       {in: "80-80", want: meridian.Port{Protocol: "TCP", Port: 80}},
		"zero":                 {in: "0", wantErr: `port "0": "0" is not a port number (1-65535)`},
		"too large":            {in: "65536/tcp", wantErr: `port "65536/tcp": "65536" is not a port number (1-65535)`},
		"leading zero":         {in: "080", wantErr: `port "080": "080" is not a port number (1-65535)`},
		"backwards range":      {in: "90-80", wantErr: `port "90-80": range ends before it starts`},
		"unknown protocol":     {in: "80/icmp", wantErr: `port "80/icmp": protocol must be tcp, udp or sctp, got "icmp"`},
		"named port":           {in: "http", wantErr: `port "http": "http" is not a port number (1-65535)`},
		"sign is not a number": {in: "+80", wantErr: `port "+80": "+80" is not a port number (1-65535)`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := meridian.ParsePort(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParsePort(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParsePort checks that a parsed port is in range and that its
// canonical spec parses back to the same port.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "53/udp", "9000-9100/SCTP", "-1", "1-", "/tcp", "65535-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := meridian.ParsePort(s)
		if err != nil {
			return
		}
		if p.Port < 1 || p.Last() > 65535 || (p.EndPort != 0 && p.EndPort <= p.Port) {
			t.Fatalf("ParsePort(%q) = %+v: out of range", s, p)
		}
		back, err := meridian.ParsePort(p.String())
		if err != nil || back != p {
			t.Fatalf("ParsePort(%q) = %+v; its spec %q reads back as %+v, %v", s, p, p.String(), back, err)
		}
	})
}

// FuzzParseCIDR checks that an accepted CIDR is canonical: parsing it
// again gives it back unchanged.
func FuzzParseCIDR(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::/0", "fd00::/8", "10.0.0.1/8", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := meridian.ParseCIDR(s)
		if err != nil {
			return
		}
		again, err := meridian.ParseCIDR(c)
		if err != nil || again != c {
			t.Fatalf("ParseCIDR(%q) = %q, which reads back as %q, %v", s, c, again, err)
		}
	})
}

func TestResolveFlows(t *testing.T) {
	targets := []meridian.Target{
		{Name: "edge-a", Network: meridian.TargetNetwork{CIDRs: []string{"10.1.0.0/16"}}},
		{Name: "edge-b", Network: meridian.TargetNetwork{CIDRs: []string{"10.2.0.0/16"}}},
		{Name: "centre", Network: meridian.TargetNetwork{CIDRs: []string{"10.9.0.0/16"}}, Destination: meridian.Destination{Namespace: "prod"}},
	}
	tcp := []meridian.Port{{Protocol: "TCP", Port: 9092}}
	workloads := []meridian.Workload{
		{Name: "video", Network: meridian.WorkloadNetwork{Selector: map[string]string{"app": "video"}}},
		{Name: "kafka", Network: meridian.WorkloadNetwork{Ingress: []meridian.TrafficRule{{
			From:  []meridian.TrafficPeer{{Workload: "video"}, {CIDR: "192.168.0.0/24"}, {Labels: map[string]string{"role": "probe"}}},
			Ports: tcp,
		}}}},
		{Name: "open"},
	}
	placements := []meridian.Placement{
		{Workload: "video", Target: "edge-a"}, {Workload: "video", Target: "edge-b"}, {Workload: "video", Target: "centre"},
		{Workload: "kafka", Target: "centre"}, {Workload: "open", Target: "centre"}, {Workload: "gone", Target: "centre"},
	}
	to := meridian.FlowEnd{Workload: "kafka", Target: "centre", Namespace: "prod",
		Labels: map[string]string{meridian.DefaultSelectorLabel: "kafka"}, CIDRs: []string{"10.9.0.0/16"}}
	from := func(tgt, ns, cidr string) meridian.FlowEnd {
		return meridian.FlowEnd{Workload: "video", Target: tgt, Namespace: ns, Labels: map[string]string{"app": "video"}, CIDRs: []string{cidr}}
	}
	want := []meridian.Flow{
		{From: from("edge-a", "video", "10.1.0.0/16"), To: to, Ports: tcp},
		{From: from("edge-b", "video", "10.2.0.0/16"), To: to, Ports: tcp},
		{From: from("centre", "prod", "10.9.0.0/16"), To: to, Ports: tcp},
		{From: meridian.FlowEnd{CIDRs: []string{"192.168.0.0/24"}}, To: to, Ports: tcp},
		{From: meridian.FlowEnd{Target: "centre", Labels: map[string]string{"role": "probe"}}, To: to, Ports: tcp},
	}
	flows := meridian.ResolveFlows(targets, workloads, placements)
	if diff := cmp.Diff(want, flows); diff != "" {
		t.Fatalf("flows (-want +got):\n%s", diff)
	}
	// A flow from an edge to the centre is opened on both ends; a flow
	// inside one target is not an egress of it.
	if got := meridian.FlowsAt("edge-a", flows); len(got.Ingress) != 0 || len(got.Egress) != 1 || got.Egress[0].To.Target != "centre" {
		t.Errorf("edge-a must hold one egress to the centre, got %+v", got)
	}
	if got := meridian.FlowsAt("centre", flows); len(got.Ingress) != 5 || len(got.Egress) != 0 {
		t.Errorf("centre must hold the 5 ingress flows and no egress, got %d and %d", len(got.Ingress), len(got.Egress))
	}
}

func TestLandedPlacements(t *testing.T) {
	pl := func(w, tg string, blocked bool) meridian.Placement {
		return meridian.Placement{Workload: w, Target: tg, Blocked: blocked}
	}
	cases := map[string]struct {
		reason  string
		plan    meridian.Plan
		running map[string][]string
		want    []meridian.Placement
	}{
		"placed": {
			reason: "a workload the plan does not hold back lands where the plan puts it",
			plan:   meridian.Plan{Placements: []meridian.Placement{pl("b", "y", false), pl("a", "x", false)}},
			want:   []meridian.Placement{pl("a", "x", false), pl("b", "y", false)},
		},
		"frozen": {
			reason: "a blocked workload stays where the ledger runs it, not where the plan wanted it",
			plan: meridian.Plan{Placements: []meridian.Placement{pl("a", "new", true)},
				Current: map[string][]string{"a": {"old"}}},
			want: []meridian.Placement{pl("a", "old", true)},
		},
		"frozen and new": {
			reason: "a blocked workload that runs nowhere yet lands nowhere",
			plan:   meridian.Plan{Placements: []meridian.Placement{pl("a", "new", true)}},
		},
		"unplaceable": {
			reason: "an unplaceable workload keeps running where it runs",
			plan: meridian.Plan{Unplaceable: []meridian.Unplaceable{{Workload: "a"}},
				Current: map[string][]string{"a": {"x", "y"}, "b": {"z"}}},
			want: []meridian.Placement{pl("a", "x", true), pl("a", "y", true)},
		},
		"moving": {
			reason:  "the old target of a move still waiting runs beside the new one",
			plan:    meridian.Plan{Placements: []meridian.Placement{pl("a", "new", false)}, Current: map[string][]string{"a": {"old"}}},
			running: map[string][]string{"a": {"old", "new"}},
			want:    []meridian.Placement{pl("a", "new", false), pl("a", "old", false)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := meridian.LandedPlacements(&tc.plan, tc.running)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFirewallRules(t *testing.T) {
	end := func(w, tg string, cidrs ...string) meridian.FlowEnd {
		return meridian.FlowEnd{Workload: w, Target: tg, CIDRs: cidrs}
	}
	web := []meridian.Port{{Protocol: meridian.ProtocolTCP, Port: 443}}
	flows := []meridian.Flow{
		{From: end("gw", "edge", "10.1.0.0/16"), To: end("api", "core", "10.2.0.0/16"), Ports: web},
		{From: meridian.FlowEnd{CIDRs: []string{"0.0.0.0/0"}}, To: end("gw", "edge", "10.1.0.0/16"), Ports: web},
		{From: end("db", "core", "10.2.0.0/16"), To: end("api", "core", "10.2.0.0/16")},
		{From: meridian.FlowEnd{Target: "edge", Labels: map[string]string{"r": "cam"}}, To: end("gw", "edge")},
	}
	got, err := meridian.FirewallRules("gw", "edge", flows)
	if err != nil {
		t.Fatal(err)
	}
	want := []meridian.FirewallRule{
		{Workload: "gw", Direction: "egress", CIDRs: []string{"10.2.0.0/16"}, Ports: web, Peer: "to api on core"},
		{Workload: "gw", Direction: "ingress", CIDRs: []string{"0.0.0.0/0"}, Ports: web, Peer: "from 0.0.0.0/0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gw on edge: only the cross-target and outside parts reach the firewall (-want +got):\n%s", diff)
	}
	if got, _ := meridian.FirewallRules("api", "core", flows); len(got) != 1 || got[0].Peer != "from gw on edge" {
		t.Errorf("api on core: want only the ingress from gw on edge (db is in-cluster), got %+v", got)
	}
	flows[0].From.CIDRs = nil
	if _, err := meridian.FirewallRules("api", "core", flows); err == nil || !strings.Contains(err.Error(), "source gw runs on edge, which declares no network.cidrs") {
		t.Errorf("a cross-target source without cidrs must fail naming it, got %v", err)
	}
}

func TestPeerRefs(t *testing.T) {
	w := meridian.Workload{Name: "api", Network: meridian.WorkloadNetwork{
		Peers: []string{"db", "cache"},
		Ingress: []meridian.TrafficRule{
			{From: []meridian.TrafficPeer{{CIDR: "0.0.0.0/0"}, {Workload: "gw"}}},
			{From: []meridian.TrafficPeer{{Labels: map[string]string{"a": "b"}}, {Workload: "cam"}}},
		},
	}}
	want := []meridian.PeerRef{
		{Workload: "db", Field: "network.peers.0"},
		{Workload: "cache", Field: "network.peers.1"},
		{Workload: "gw", Field: "network.ingress.0.from.1.workload", Ingress: true},
		{Workload: "cam", Field: "network.ingress.1.from.1.workload", Ingress: true},
	}
	if diff := cmp.Diff(want, w.PeerRefs()); diff != "" {
		t.Errorf("peers in order, then ingress workloads with their fields; CIDR and label peers skipped (-want +got):\n%s", diff)
	}
}
