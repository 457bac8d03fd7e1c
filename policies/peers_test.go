package policies

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// TestCheckPeers judges flows where both ends landed, with the built-in
// MER-NET-003 and an org rule that reads input.peer.
func TestCheckPeers(t *testing.T) {
	org := map[string]string{"policies/edge.rego": `package meridian.org.placement.edge_peers

deny contains {"id": "ORG-EDGE-1", "msg": sprintf("%s may not talk to the edge", [input.peer.workload.name]), "field": input.peer.field} if {
	input.peer.target.provider == "edge"
	input.workload.tags.tier == "core"
}
`}
	e := newEngine(t, meridian.DefaultSettings(), org)
	ts := []meridian.Target{
		{Name: "edge", Provider: meridian.ProviderEdge, Jurisdiction: "eu", Network: meridian.TargetNetwork{Model: meridian.NetworkInternet, InternetEgress: true}},
		{Name: "dc", Provider: meridian.ProviderOnPrem, Jurisdiction: "eu", Network: meridian.TargetNetwork{Model: meridian.NetworkVLANNSXT, Private: true}},
		{Name: "aws-us", Provider: meridian.ProviderAWS, Jurisdiction: "us", Network: meridian.TargetNetwork{Model: meridian.NetworkVPCTGW, Private: true}},
	}
	ws := []meridian.Workload{
		{Name: "video", Network: meridian.WorkloadNetwork{Peers: []string{"kafka"}}},
		{Name: "kafka", Tags: map[string]string{"tier": "core"}, Requires: meridian.Requirements{Jurisdictions: []string{"eu"}},
			Network: meridian.WorkloadNetwork{PrivateOnly: true, Ingress: []meridian.TrafficRule{{From: []meridian.TrafficPeer{{Workload: "video"}}}}}},
	}
	on := func(pairs ...string) []meridian.Placement {
		var out []meridian.Placement
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, meridian.Placement{Workload: pairs[i], Target: pairs[i+1]})
		}
		return out
	}
	key := func(fs []meridian.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Rule+" "+f.Workload+"@"+f.Target+" "+f.Field+": "+f.Message)
		}
		return out
	}
	cases := map[string]struct {
		reason string
		landed []meridian.Placement
		want   []string
	}{
		"same target": {
			reason: "a flow inside one target needs no path",
			landed: on("video", "dc", "kafka", "dc"),
		},
		"private path": {
			reason: "two private targets in the allowed jurisdiction join privately",
			landed: on("video", "dc", "kafka", "dc", "video", "dc"),
		},
		"edge to private-only": {
			reason: "video on the internet-only edge cannot reach private-only kafka, judged at both ends, and the org rule sees the landed peer",
			landed: on("video", "edge", "kafka", "dc"),
			want: []string{
				"MER-NET-003 video@edge network.peers.0: kafka runs on dc, and no path joins it to this target: kafka is private-only and the targets are not both private",
				"MER-NET-003 kafka@dc network.ingress.0.from.0.workload: video runs on edge, and no path joins it to this target: the workload is private-only and the targets are not both private",
				"ORG-EDGE-1 kafka@dc network.ingress.0.from.0.workload: video may not talk to the edge",
			},
		},
		"peer outside jurisdiction": {
			reason: "kafka must keep its data in the eu: video landing in the us is refused though the path is private",
			landed: on("video", "aws-us", "kafka", "dc"),
			want: []string{
				`MER-NET-003 kafka@dc network.ingress.0.from.0.workload: video runs on aws-us in jurisdiction "us", outside the workload's allowed eu`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fs, err := e.CheckPeers(context.Background(), ws, ts, tc.landed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, key(fs)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
