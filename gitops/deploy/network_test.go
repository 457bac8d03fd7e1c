package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// networkConfig is testdata/network: two Calico edge sites and a centre
// on every kind of target, with workloads whose traffic rules cross them.
func networkConfig(t testing.TB) *meridian.Config {
	t.Helper()
	cfg, err := config.Load(os.DirFS(filepath.Join("testdata", "network")))
	if err != nil {
		t.Fatalf("testdata/network must be valid:\n%v", err)
	}
	return cfg
}

// networkPlan is testdata/network-plan.json, which the e2e test renders
// too: video on both edges, a centre service on each kind of target.
func networkPlan(t testing.TB) *meridian.Plan {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "network-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p meridian.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func renderNetwork(t *testing.T) deploy.Tree {
	t.Helper()
	r, err := deploy.Render(networkConfig(t), networkPlan(t), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Tree
}

func TestRenderNetworkGolden(t *testing.T) {
	goldenTree(t, filepath.Join("testdata", "golden", "network"), renderNetwork(t))
}

func TestRenderedNetworkValid(t *testing.T) {
	validateTree(t, "network", renderNetwork(t))
}

// decodeFile decodes one file of the tree.
func decodeFile(t *testing.T, tree deploy.Tree, p string) map[string]any {
	t.Helper()
	b, ok := tree[p]
	if !ok {
		t.Fatalf("%s not rendered; have %v", p, tree.Paths())
	}
	var o map[string]any
	if err := yaml.Unmarshal(b, &o); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return o
}

// TestCrossSiteFlowBothEnds follows the video → kafka flow from the edges
// to the AWS centre: it must be open at the source (egress in the edge's
// NetworkPolicy and Calico policy) and at the destination (ingress in the
// centre's NetworkPolicy and AWS security group), for the resolved CIDRs.
func TestCrossSiteFlowBothEnds(t *testing.T) {
	tree := renderNetwork(t)
	cases := map[string]struct {
		reason string
		file   string
		want   []string
	}{
		"source NetworkPolicy": {
			reason: "the edge pods may send to the centre's range on the Kafka port, DNS, and nothing else",
			file:   "sites/edge-a/networkpolicy.video.yaml",
			want:   []string{"- Egress", "cidr: 10.10.0.0/16", "port: 9092", "port: 53"},
		},
		"source Calico": {
			reason: "the edge's Calico policy carries the same egress, one file per site",
			file:   "sites/edge-b/calico-globalnetworkpolicy.yaml",
			want:   []string{"kind: GlobalNetworkPolicy", "- 10.10.0.0/16", "- 9092", "app == 'video-analytics'", "- 5004:5005"},
		},
		"destination NetworkPolicy": {
			reason: "the centre admits both edges' ranges and the other centre's inference pods",
			file:   "sites/aws-centre/networkpolicy.kafka.yaml",
			want:   []string{"cidr: 10.101.0.0/16", "cidr: 10.102.0.0/16", "cidr: fd00:102::/64", "cidr: 10.20.0.0/16"},
		},
		"destination security group": {
			reason: "the AWS firewall admits the edges too, one rule per range and port",
			file:   "infra/kafka/aws-centre/sg-in-0.yaml",
			want:   []string{"kind: SecurityGroupIngressRule", "cidrIpv4: 10.101.0.0/16", "fromPort: 9092", "ipProtocol: tcp"},
		},
		"Azure source": {
			reason: "inference on Azure opens its egress to Kafka on AWS in its NSG",
			file:   "infra/inference/azure-centre/nsg-out-0.yaml",
			want:   []string{"direction: Outbound", "- 10.10.0.0/16", "- 9092"},
		},
		"GCP ingress from the internet": {
			reason: "the gateway's CIDR source becomes a GCP ingress firewall",
			file:   "infra/gateway/gcp-centre/fw-in-0.yaml",
			want:   []string{"direction: INGRESS", "- 0.0.0.0/0", "network: projects/meridian-net/global/networks/core"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Quotes are the YAML writer's business, not the rule's.
			got := strings.ReplaceAll(string(tree[tc.file]), `"`, "")
			if got == "" {
				t.Fatalf("%s not rendered", tc.file)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s\n%s lacks %q:\n%s", tc.reason, tc.file, w, got)
				}
			}
		})
	}
	// A private-only workload gets no internet egress even on a target
	// that has it; a public one does.
	if strings.Contains(string(tree["sites/aws-centre/networkpolicy.kafka.yaml"]), "0.0.0.0/0") {
		t.Error("kafka is private-only: its policy must not open the internet")
	}
	if !strings.Contains(string(tree["sites/gcp-centre/networkpolicy.gateway.yaml"]), "0.0.0.0/0") {
		t.Error("the gateway is public on a target with internet egress: its policy must open the internet")
	}
	// Only Calico targets get a Calico policy; the site Application syncs
	// the site's folder.
	if _, ok := tree["sites/gcp-centre/calico-globalnetworkpolicy.yaml"]; ok {
		t.Error("gcp-centre does not run Calico")
	}
	app := decodeFile(t, tree, "apps/_sites/edge-a.yaml")
	if got := app["spec"].(map[string]any)["source"].(map[string]any)["path"]; got != "clusters/prod/sites/edge-a" {
		t.Errorf("site Application path = %v", got)
	}
	if w := tree.Workloads(); len(w["_sites"]) != 0 {
		t.Errorf("site Applications must not count as a workload's: %v", w)
	}
}

// TestRenderNetworkNeedsCIDRs: a cross-target flow to a target without
// network.cidrs cannot be opened, and rendering says which.
func TestRenderNetworkNeedsCIDRs(t *testing.T) {
	cfg := networkConfig(t)
	tg, _ := cfg.Target("edge-b")
	tg.Network.CIDRs = nil
	_, err := deploy.Render(cfg, networkPlan(t), deploy.RenderOptions{})
	if err == nil || !strings.Contains(err.Error(), "video runs on edge-b, which declares no network.cidrs") {
		t.Fatalf("want an error naming video on edge-b, got %v", err)
	}
}

// TestNetworkValidatorRejects proves the network objects' validation can
// fail, the way a renderer bug would break them.
func TestNetworkValidatorRejects(t *testing.T) {
	tree := renderNetwork(t)
	spec := func(o map[string]any) map[string]any { return o["spec"].(map[string]any) }
	cases := map[string]struct {
		file string
		edit func(o map[string]any)
		want string
	}{
		"Calico CEL": {
			file: "sites/edge-a/calico-globalnetworkpolicy.yaml",
			edit: func(o map[string]any) { spec(o)["preDNAT"] = true },
			want: "preDNAT policy cannot have any egress rules",
		},
		"Calico enum": {
			file: "sites/edge-a/calico-globalnetworkpolicy.yaml",
			edit: func(o map[string]any) { spec(o)["types"] = []any{"Inbound"} },
			want: "spec.types[0]: Unsupported value",
		},
		"security rule CEL": {
			file: "infra/inference/azure-centre/nsg-out-0.yaml",
			edit: func(o map[string]any) { delete(spec(o)["forProvider"].(map[string]any), "priority") },
			want: "spec.forProvider.priority is a required parameter",
		},
		"EC2 rule protocol": {
			file: "infra/kafka/aws-centre/sg-in-0.yaml",
			edit: func(o map[string]any) { delete(spec(o)["forProvider"].(map[string]any), "ipProtocol") },
			want: "spec.forProvider.ipProtocol is a required parameter",
		},
		"NetworkPolicy unknown field": {
			file: "sites/aws-centre/networkpolicy.kafka.yaml",
			edit: func(o map[string]any) { spec(o)["podSelectr"] = map[string]any{} },
			want: "unknown field",
		},
		"NetworkPolicy except outside cidr": {
			file: "sites/gcp-centre/networkpolicy.gateway.yaml",
			edit: func(o map[string]any) {
				for _, r := range spec(o)["egress"].([]any) {
					to, _ := r.(map[string]any)["to"].([]any)
					for _, to := range to {
						if ib, ok := to.(map[string]any)["ipBlock"].(map[string]any); ok && ib["except"] != nil {
							ib["cidr"] = "10.0.0.0/16"
						}
					}
				}
			},
			want: "must be a strict subset of `cidr`",
		},
		"Ingress path": {
			file: "sites/azure-centre/ingress.inference.yaml",
			edit: func(o map[string]any) {
				spec(o)["rules"].([]any)[0].(map[string]any)["http"].(map[string]any)["paths"].([]any)[0].(map[string]any)["path"] = "infer"
			},
			want: "must be an absolute path",
		},
	}
	v := crds(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := decodeFile(t, tree, tc.file)
			if errs := v.Validate(context.Background(), tree[tc.file]); len(errs) != 0 {
				t.Fatalf("%s is invalid before the edit: %v", tc.file, errs)
			}
			tc.edit(o)
			b, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			if errs := v.Validate(context.Background(), b); !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("want an error containing %q, got %q", tc.want, errs)
			}
		})
	}
}

func TestSiteOwner(t *testing.T) {
	cases := map[string]struct {
		path       string
		wantTarget string
		wantSite   bool
		wantOwner  bool
	}{
		"site Application":   {path: "apps/_sites/edge-eu-01.yaml", wantTarget: "edge-eu-01", wantSite: true},
		"site object":        {path: "sites/edge-eu-01/networkpolicy.kafka.yaml", wantTarget: "edge-eu-01", wantSite: true},
		"workload app":       {path: "apps/kafka/edge-eu-01.yaml", wantOwner: true},
		"nested site folder": {path: "sites/edge-eu-01/x/y.yaml"},
		"bare sites folder":  {path: "sites/edge-eu-01"},
		"not yaml":           {path: "apps/_sites/edge-eu-01.json"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tg, site := deploy.SiteOwner(tc.path)
			if site != tc.wantSite || (site && tg != tc.wantTarget) {
				t.Errorf("SiteOwner(%q) = %q, %v; want %q, %v", tc.path, tg, site, tc.wantTarget, tc.wantSite)
			}
			if _, _, owned := deploy.Owner(tc.path); owned != tc.wantOwner {
				t.Errorf("Owner(%q) owned = %v, want %v: site files belong to no workload", tc.path, owned, tc.wantOwner)
			}
		})
	}
}
