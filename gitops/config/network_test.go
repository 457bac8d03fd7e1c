package config_test

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/examples"
	"github.com/meridianhq/meridian/gitops/config"
)

func TestLoadNetwork(t *testing.T) {
	const edge = target + `network:
  model: k3s-flannel
  private: true
  calico: true
  isolation_classes: [video, pci, video]
  cidrs: ["10.20.0.0/16"]
`
	const api = workload + `network:
  private_only: true
  isolation: pci
  peers: [db]
  ingress:
    - from: [{workload: db}, {cidr: "192.168.0.0/24"}, {labels: {role: lb}}]
      ports: ["8080", "9000-9100/udp", {protocol: SCTP, port: 7}]
  http:
    - {path: /api, port: 8080}
`
	const db = `apiVersion: meridian/v1
kind: Workload
name: db
tags: {owner: a, cost-center: "1", env: prod}
replicas: {min: 1}
per_replica: {vcpu: 1, memory_gib: 2}
network:
  ingress: []
`
	cfg, err := config.Load(fstest.MapFS{
		"targets/a.yaml":     {Data: []byte(edge)},
		"workloads/api.yaml": {Data: []byte(api)},
		"workloads/db.yaml":  {Data: []byte(db)},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTarget := meridian.TargetNetwork{Model: meridian.NetworkK3sFlannel, Private: true, Calico: true,
		IsolationClasses: []string{"pci", "video"}, CIDRs: []string{"10.20.0.0/16"}}
	if diff := cmp.Diff(wantTarget, cfg.Targets[0].Network); diff != "" {
		t.Errorf("target network (-want +got):\n%s", diff)
	}
	wantAPI := meridian.WorkloadNetwork{PrivateOnly: true, Isolation: "pci", Peers: []string{"db"},
		Ingress: []meridian.TrafficRule{{
			From:  []meridian.TrafficPeer{{Workload: "db"}, {CIDR: "192.168.0.0/24"}, {Labels: map[string]string{"role": "lb"}}},
			Ports: []meridian.Port{{Protocol: "TCP", Port: 8080}, {Protocol: "UDP", Port: 9000, EndPort: 9100}, {Protocol: "SCTP", Port: 7}},
		}},
		HTTP: []meridian.HTTPRoute{{Path: "/api", Port: 8080}}}
	if diff := cmp.Diff(wantAPI, cfg.Workloads[0].Network); diff != "" {
		t.Errorf("workload network (-want +got):\n%s", diff)
	}
	if w := cfg.Workloads[1]; w.Network.Ingress == nil || !w.Network.Isolated() {
		t.Errorf("ingress: [] must deny all (isolated, empty), got %#v", w.Network.Ingress)
	}
}

func TestLoadNetworkErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		target string
		work   string
		want   []string
	}{
		"model": {
			reason: "the network model comes from a closed list, so that rules can rely on it",
			target: target + "network:\n  model: mpls\n",
			want:   []string{`targets/a.yaml:11: network.model: must be one of vpc-tgw, vwan, shared-vpc, vlan-nsxt, vlan, k3s-flannel, sd-wan, internet, got "mpls"`},
		},
		"model required": {
			reason: "a network block without a model is a half-declared target",
			target: target + "network:\n  private: true\n",
			want:   []string{`targets/a.yaml:10: network.model: required, one of vpc-tgw, vwan, shared-vpc, vlan-nsxt, vlan, k3s-flannel, sd-wan, internet`},
		},
		"cidr": {
			reason: "a CIDR with host bits would open more than written; a malformed one names its index",
			target: target + "network:\n  model: vpc-tgw\n  cidrs: [10.1.2.3/16, nonsense]\n",
			want: []string{
				`targets/a.yaml:12: network.cidrs.0: "10.1.2.3/16" has host bits set; did you mean 10.1.0.0/16?`,
				`targets/a.yaml:12: network.cidrs.1: "nonsense" is not a CIDR (like 10.20.0.0/16): netip.ParsePrefix("nonsense"): no '/'`,
			},
		},
		"internet is not private": {
			reason: "the internet model contradicts private connectivity",
			target: target + "network:\n  model: internet\n  private: true\n",
			want:   []string{`targets/a.yaml:12: network.private: a target on the internet network model has no private connectivity`},
		},
		"peers and sources": {
			reason: "peers and traffic sources must name workloads of the config; a source is exactly one kind",
			work: workload + `network:
  peers: [api, ghost]
  ingress:
    - from: [{workload: ghost}, {cidr: 10.0.0.1/8}, {workload: api, cidr: 10.0.0.0/8}]
      ports: [http]
    - ports: ["70000"]
  http:
    - {path: api, port: 0}
`,
			want: []string{
				`workloads/api.yaml:8: network.peers.0: a workload need not name itself as a peer`,
				`workloads/api.yaml:8: network.peers.1: workload "ghost" is not defined in workloads/`,
				`workloads/api.yaml:10: network.ingress.0.from.0.workload: workload "ghost" is not defined in workloads/`,
				`workloads/api.yaml:10: network.ingress.0.from.1.cidr: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?`,
				`workloads/api.yaml:10: network.ingress.0.from.2: give exactly one of workload, labels and cidr`,
				`workloads/api.yaml:11: network.ingress.0.ports.0: port "http": "http" is not a port number (1-65535)`,
				`workloads/api.yaml:12: network.ingress.1.from: required: the workloads, labels or CIDRs allowed in`,
				`workloads/api.yaml:12: network.ingress.1.ports.0: port "70000": "70000" is not a port number (1-65535)`,
				`workloads/api.yaml:14: network.http.0.path: required, an absolute path prefix such as /api, got "api"`,
				`workloads/api.yaml:14: network.http.0.port: required, the Service port (1-65535), got 0`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tg, wl := tc.target, tc.work
			if tg == "" {
				tg = target
			}
			if wl == "" {
				wl = workload
			}
			_, err := config.Load(fstest.MapFS{"targets/a.yaml": {Data: []byte(tg)}, "workloads/api.yaml": {Data: []byte(wl)}})
			got := configErrors(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestLoadEdgeFifty loads examples/edge-50: 53 targets with network
// blocks and its five workloads with traffic rules.
func TestLoadEdgeFifty(t *testing.T) {
	cfg, err := config.Load(examples.EdgeFifty())
	if err != nil {
		t.Fatalf("examples/edge-50 must be valid:\n%v", err)
	}
	calico := 0
	for _, tg := range cfg.Targets {
		if !tg.Network.Declared() || len(tg.Network.CIDRs) == 0 {
			t.Errorf("%s: every target of the example declares its network and CIDRs", tg.Name)
		}
		if tg.Network.Calico {
			calico++
		}
	}
	if len(cfg.Targets) != 53 || calico != 50 || len(cfg.Workloads) != 5 {
		t.Errorf("edge-50 has %d targets (%d Calico) and %d workloads; want 53 (50) and 5", len(cfg.Targets), calico, len(cfg.Workloads))
	}
}
