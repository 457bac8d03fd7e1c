package terraform_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

func TestNewNetworkRules(t *testing.T) {
	web := meridian.Port{Protocol: meridian.ProtocolTCP, Port: 443}
	rtp := meridian.Port{Protocol: meridian.ProtocolUDP, Port: 5004, EndPort: 5005}
	got := terraform.NewNetworkRules("core", []meridian.FirewallRule{
		{Workload: "api", Direction: "ingress", CIDRs: []string{"10.2.0.0/16", "10.1.0.0/16"}, Ports: []meridian.Port{web, rtp}, Peer: "from gw on edge"},
		{Workload: "api", Direction: "ingress", CIDRs: []string{"10.1.0.0/16", "10.2.0.0/16"}, Ports: []meridian.Port{web}, Peer: "from cam on edge"},
		{Workload: "api", Direction: "egress", CIDRs: []string{"10.3.0.0/16"}, Peer: "to db on dc"},
	})
	want := []terraform.NetworkRuleVars{
		{Workload: "api", Direction: "egress", Protocol: "all", CIDRs: []string{"10.3.0.0/16"}, Description: "meridian: api on core to db on dc"},
		{Workload: "api", Direction: "ingress", Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"10.1.0.0/16", "10.2.0.0/16"},
			Description: "meridian: api on core from gw on edge; api on core from cam on edge"},
		{Workload: "api", Direction: "ingress", Protocol: "udp", FromPort: 5004, ToPort: 5005, CIDRs: []string{"10.1.0.0/16", "10.2.0.0/16"},
			Description: "meridian: api on core from gw on edge"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("one rule per protocol and range, CIDRs sorted, equal rules merged (-want +got):\n%s", diff)
	}
}

// TestNewNetworkRulesDescriptions: merged rules name each peer once, even
// when one peer's name is part of another's.
func TestNewNetworkRulesDescriptions(t *testing.T) {
	web := []meridian.Port{{Protocol: meridian.ProtocolTCP, Port: 443}}
	cidrs := []string{"10.1.0.0/16"}
	got := terraform.NewNetworkRules("core", []meridian.FirewallRule{
		{Workload: "api", Direction: "ingress", CIDRs: cidrs, Ports: web, Peer: "from kafka on aws-centre"},
		{Workload: "api", Direction: "ingress", CIDRs: cidrs, Ports: web, Peer: "from kafka on aws"},
		{Workload: "api", Direction: "ingress", CIDRs: cidrs, Ports: web, Peer: "from kafka on aws"},
		{Workload: "api", Direction: "ingress", CIDRs: cidrs, Ports: web, Peer: "from kafka on aws-centre"},
	})
	want := []terraform.NetworkRuleVars{
		{Workload: "api", Direction: "ingress", Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: cidrs,
			Description: "meridian: api on core from kafka on aws-centre; api on core from kafka on aws"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("each peer named once in a merged rule (-want +got):\n%s", diff)
	}
}

func TestVarsNetworkRulesReserved(t *testing.T) {
	v := terraform.Vars{Extra: map[string]string{"network_rules": "x"}}
	if _, err := v.MarshalJSON(); err == nil || !strings.Contains(err.Error(), "terraform.vars.network_rules: the name is reserved") {
		t.Errorf("network_rules must be reserved even without rules, got %v", err)
	}
	b, err := terraform.Vars{}.MarshalJSON()
	if err != nil || strings.Contains(string(b), "network_rules") {
		t.Errorf("no rules must write no network_rules, so modules without it keep working: %s %v", b, err)
	}
}

// TestOfflineModuleNetworkRules runs the example's offline module with the
// real Terraform: the rules Meridian writes pass the variable's
// validation and become one resource each; rules the module must refuse
// are refused with the validation's message.
func TestOfflineModuleNetworkRules(t *testing.T) {
	bin := terraformtest.Binary(t)
	ctx := context.Background()
	r, err := terraform.New(ctx, bin, terraform.Options{Environ: hostileEnviron(t)})
	if err != nil {
		t.Fatal(err)
	}
	src := os.DirFS(filepath.Join(examplesDir(t), "offline"))
	tgt := &meridian.Target{Name: "dc", Provider: meridian.ProviderOnPrem, LogRetentionMaxDays: 365}
	api := &meridian.Workload{Name: "api", Requires: meridian.Requirements{LogRetentionDays: 30}}
	rules := terraform.NewNetworkRules("dc", []meridian.FirewallRule{
		{Workload: "api", Direction: "ingress", CIDRs: []string{"0.0.0.0/0", "fd00:1::/64"}, Ports: []meridian.Port{{Protocol: "TCP", Port: 443}}, Peer: "from 0.0.0.0/0"},
		{Workload: "api", Direction: "egress", CIDRs: []string{"10.10.0.0/16"}, Peer: "to kafka on aws"},
	})
	valid := terraform.Vars{Target: terraform.NewTargetVars(tgt),
		Placements: map[string]terraform.PlacementVars{"api": terraform.NewPlacementVars(api, 2)}, NetworkRules: rules}
	plan := func(t *testing.T, v terraform.Vars, edit func(doc map[string]any)) (*terraform.PlanResult, error) {
		t.Helper()
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			edit(doc)
			if b, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
		files, err := terraform.ReadModule(src, ".")
		if err != nil {
			t.Fatal(err)
		}
		files[terraform.VarsFile] = b
		dir := t.TempDir()
		if err := files.Write(dir); err != nil {
			t.Fatal(err)
		}
		ws, err := r.Workspace(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Init(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return ws.Plan(ctx, filepath.Join(dir, "p.tfplan"), terraform.PlanNormal)
	}
	t.Run("valid", func(t *testing.T) {
		res, err := plan(t, valid, nil)
		if err != nil {
			t.Fatal(err)
		}
		var fw []string
		for _, a := range terraform.Summarize(res.Plan).Add {
			if strings.HasPrefix(a, "terraform_data.firewall_rule[") {
				fw = append(fw, a)
			}
		}
		want := []string{`terraform_data.firewall_rule["api/egress/all/0-0/10.10.0.0/16"]`,
			`terraform_data.firewall_rule["api/ingress/tcp/443-443/0.0.0.0/0,fd00:1::/64"]`}
		if diff := cmp.Diff(want, fw); diff != "" {
			t.Errorf("one firewall resource per rule (-want +got):\n%s", diff)
		}
		if got := terraform.FailedChecks(res.Plan); len(got) != 0 {
			t.Errorf("checks failed: %v", got)
		}
	})
	refused := map[string]struct {
		edit func(rule map[string]any)
		want string
	}{
		"direction": {func(r map[string]any) { r["direction"] = "sideways" }, "direction must be ingress or egress"},
		"protocol":  {func(r map[string]any) { r["protocol"] = "icmp" }, "protocol must be tcp, udp, sctp or all"},
		"ports":     {func(r map[string]any) { r["from_port"] = 0 }, "1 <= from_port <= to_port <= 65535"},
		"cidr":      {func(r map[string]any) { r["cidrs"] = []any{"10.0.0.300/8"} }, "every CIDR must be valid"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := plan(t, valid, func(doc map[string]any) {
				rs := doc["network_rules"].([]any)
				tc.edit(rs[len(rs)-1].(map[string]any))
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want Terraform to refuse with %q, got %v", tc.want, err)
			}
		})
	}
	t.Run("rule of a workload not placed", func(t *testing.T) {
		v := valid
		v.NetworkRules = append(append([]terraform.NetworkRuleVars(nil), rules...), terraform.NetworkRuleVars{
			Workload: "ghost", Direction: "egress", Protocol: "all", CIDRs: []string{"10.0.0.0/8"}})
		res, err := plan(t, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := terraform.FailedChecks(res.Plan); len(got) != 1 || !strings.Contains(got[0], "names a workload that is not placed there") {
			t.Errorf("want the network_rules_placed check to fail, got %v", got)
		}
	})
}
