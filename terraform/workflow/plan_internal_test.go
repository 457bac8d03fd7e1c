package workflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/terraform"
)

// TestTargetVarsNetworkRules: a Terraform target's variables carry the
// firewall rules of the flows as they land, so that a frozen workload's
// rules stay where it runs.
func TestTargetVarsNetworkRules(t *testing.T) {
	cfg := &meridian.Config{
		Targets: []meridian.Target{
			{Name: "east", Terraform: &meridian.TerraformModule{}, Network: meridian.TargetNetwork{Model: meridian.NetworkVPCTGW, Private: true, CIDRs: []string{"10.1.0.0/16"}}},
			{Name: "west", Terraform: &meridian.TerraformModule{}, Network: meridian.TargetNetwork{Model: meridian.NetworkVPCTGW, Private: true, CIDRs: []string{"10.2.0.0/16"}}},
		},
		Workloads: []meridian.Workload{
			{Name: "api", Network: meridian.WorkloadNetwork{Ingress: []meridian.TrafficRule{{
				From: []meridian.TrafficPeer{{Workload: "web"}}, Ports: []meridian.Port{{Protocol: meridian.ProtocolTCP, Port: 443}}}}}},
			{Name: "web", Network: meridian.WorkloadNetwork{Ingress: []meridian.TrafficRule{}}},
		},
	}
	placed := []meridian.Placement{{Workload: "api", Target: "east", Replicas: 1}, {Workload: "web", Target: "west", Replicas: 1}}
	rule := func(dir, cidr, about string) terraform.NetworkRuleVars {
		return terraform.NetworkRuleVars{Workload: map[string]string{"ingress": "api", "egress": "web"}[dir], Direction: dir, Protocol: "tcp",
			FromPort: 443, ToPort: 443, CIDRs: []string{cidr}, Description: about}
	}
	cases := map[string]struct {
		reason  string
		plan    *meridian.Plan
		current map[string]map[string]int
		want    map[string][]terraform.NetworkRuleVars
	}{
		"placed apart": {
			reason: "web on west reaches api on east: ingress at east, egress at west",
			plan:   &meridian.Plan{Placements: placed},
			want: map[string][]terraform.NetworkRuleVars{
				"east": {rule("ingress", "10.2.0.0/16", "meridian: api on east from web on west")},
				"west": {rule("egress", "10.1.0.0/16", "meridian: web on west to api on east")},
			},
		},
		"web frozen on east": {
			reason: "web is frozen where it runs, next to api: no traffic crosses targets, so no firewall rule anywhere",
			plan: &meridian.Plan{Placements: []meridian.Placement{placed[0], {Workload: "web", Target: "west", Replicas: 1, Blocked: true}},
				Current: map[string][]string{"web": {"east"}}},
			current: map[string]map[string]int{"east": {"web": 1}},
			want:    map[string][]terraform.NetworkRuleVars{"east": nil, "west": nil},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for tn, want := range tc.want {
				tg, _ := cfg.Target(tn)
				v, _, err := targetVars(cfg, tc.plan, tg, tc.current[tn])
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, v.NetworkRules); diff != "" {
					t.Errorf("%s\n%s network_rules (-want +got):\n%s", tc.reason, tn, diff)
				}
			}
		})
	}
}
