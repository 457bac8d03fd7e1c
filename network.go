package meridian

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// NetworkModel is how a target's network is built and isolated. It decides
// nothing by itself; it is what the MER-NET rules and the renderers read to
// know which isolation mechanisms exist on the target.
type NetworkModel string

// Network models Meridian knows.
const (
	// NetworkVPCTGW is AWS VPCs joined by a Transit Gateway.
	NetworkVPCTGW NetworkModel = "vpc-tgw"
	// NetworkVWAN is Azure VNets joined by a Virtual WAN hub.
	NetworkVWAN NetworkModel = "vwan"
	// NetworkSharedVPC is a GCP Shared VPC with Cloud Interconnect or VPN.
	NetworkSharedVPC NetworkModel = "shared-vpc"
	// NetworkVLANNSXT is on-prem VLANs micro-segmented by VMware NSX-T.
	NetworkVLANNSXT NetworkModel = "vlan-nsxt"
	// NetworkVLAN is plain on-prem VLANs behind a firewall.
	NetworkVLAN NetworkModel = "vlan"
	// NetworkK3sFlannel is a K3s cluster on its default Flannel overlay.
	NetworkK3sFlannel NetworkModel = "k3s-flannel"
	// NetworkSDWAN is a site joined to the others over an SD-WAN overlay.
	NetworkSDWAN NetworkModel = "sd-wan"
	// NetworkInternet is a site reachable only across the public internet.
	NetworkInternet NetworkModel = "internet"
)

// NetworkModels lists the valid network models, in documentation order.
func NetworkModels() []NetworkModel {
	return []NetworkModel{NetworkVPCTGW, NetworkVWAN, NetworkSharedVPC, NetworkVLANNSXT,
		NetworkVLAN, NetworkK3sFlannel, NetworkSDWAN, NetworkInternet}
}

// Valid reports whether m is a known network model.
func (m NetworkModel) Valid() bool { return slices.Contains(NetworkModels(), m) }

// TargetNetwork is what a target's network provides. The zero value is a
// target that declared nothing: the MER-NET rules then treat it as offering
// no private connectivity, no internet egress and no isolation class.
type TargetNetwork struct {
	Model NetworkModel `json:"model,omitempty"`
	// Private says the target reaches the other private targets over a
	// private path (Transit Gateway, Virtual WAN, MPLS, SD-WAN...), never
	// across the public internet.
	Private bool `json:"private,omitempty"`
	// InternetEgress says workloads on the target can reach the internet.
	InternetEgress bool `json:"internet_egress,omitempty"`
	// IsolationClasses are the isolation classes the target enforces
	// (for example "pci", "restricted"), sorted.
	IsolationClasses []string `json:"isolation_classes,omitempty"`
	// CIDRs are the address ranges the target's workloads send from and are
	// reached on; cross-target flows are opened for these ranges.
	CIDRs []string `json:"cidrs,omitempty"`
	// Calico says the cluster runs Calico, so Meridian renders a Calico
	// GlobalNetworkPolicy for it besides the Kubernetes NetworkPolicies.
	Calico bool `json:"calico,omitempty"`
	// CloudNetwork is the cloud network the target's security rules attach
	// to: the VPC ID on AWS, the VPC network name on GCP (Azure rules go
	// into a network security group of their own).
	CloudNetwork string `json:"cloud_network,omitempty"`
	// IngressClass is the ingressClassName of the Ingresses rendered for
	// the target; empty means the cluster's default class.
	IngressClass string `json:"ingress_class,omitempty"`
}

// Declared reports whether the target declared a network model.
func (n TargetNetwork) Declared() bool { return n.Model != "" }

// WorkloadNetwork is what a workload needs from the network and who may
// talk to it.
type WorkloadNetwork struct {
	// PrivateOnly keeps the workload on targets with private connectivity.
	PrivateOnly bool `json:"private_only,omitempty"`
	// Isolation is the isolation class the target must enforce.
	Isolation string `json:"isolation,omitempty"`
	// Peers are the workloads this one must reach wherever they run.
	Peers []string `json:"peers,omitempty"`
	// Selector is the pod label selector of the workload's pods. Empty
	// means {"app.kubernetes.io/name": <workload name>}.
	Selector map[string]string `json:"selector,omitempty"`
	// Ingress lists who may talk to the workload. Nil means no rule is
	// rendered (the workload is not isolated); an empty list denies all.
	Ingress []TrafficRule `json:"ingress,omitempty"`
	// HTTP routes paths of the target's Ingress to the workload.
	HTTP []HTTPRoute `json:"http,omitempty"`
}

// Isolated reports whether Meridian renders traffic rules for the workload.
func (n WorkloadNetwork) Isolated() bool { return n.Ingress != nil }

// PeerRef is a workload that another's traffic rules name.
type PeerRef struct {
	Workload string
	// Field is the dotted path of the naming field.
	Field string
	// Ingress: the named workload starts the flow (network.ingress);
	// otherwise the naming workload does (network.peers).
	Ingress bool
}

// PeerRefs lists the workloads w's traffic rules name: network.peers in
// order, then the workloads of network.ingress[].from in order.
func (w *Workload) PeerRefs() []PeerRef {
	var out []PeerRef
	for i, name := range w.Network.Peers {
		out = append(out, PeerRef{Workload: name, Field: "network.peers." + strconv.Itoa(i)})
	}
	for i, r := range w.Network.Ingress {
		for j, from := range r.From {
			if from.Workload != "" {
				out = append(out, PeerRef{Workload: from.Workload, Field: fmt.Sprintf("network.ingress.%d.from.%d.workload", i, j), Ingress: true})
			}
		}
	}
	return out
}

// DefaultSelectorLabel is the pod label that identifies a workload's pods
// when it declares no network.selector.
const DefaultSelectorLabel = "app.kubernetes.io/name"

// PodSelector returns the labels that select the workload's pods.
func (w *Workload) PodSelector() map[string]string {
	if len(w.Network.Selector) > 0 {
		return w.Network.Selector
	}
	return map[string]string{DefaultSelectorLabel: w.Name}
}

// TrafficRule admits traffic from any of From on any of Ports (all ports
// when Ports is empty).
type TrafficRule struct {
	From  []TrafficPeer `json:"from"`
	Ports []Port        `json:"ports,omitempty"`
}

// TrafficPeer is one source of traffic: exactly one of Workload, Labels
// and CIDR is set.
type TrafficPeer struct {
	// Workload is another workload of the config, wherever it is placed.
	Workload string `json:"workload,omitempty"`
	// Labels select pods on the same cluster, in any namespace.
	Labels map[string]string `json:"labels,omitempty"`
	// CIDR is an address range outside Meridian's targets.
	CIDR string `json:"cidr,omitempty"`
}

// HTTPRoute sends requests for Path (a prefix) on the target's Ingress to
// the workload's Service on Port.
type HTTPRoute struct {
	Path string `json:"path"`
	Port int    `json:"port"`
	// Host restricts the route to one host name; empty means any host.
	Host string `json:"host,omitempty"`
	// Service names the workload's Kubernetes Service; empty means the
	// workload name.
	Service string `json:"service,omitempty"`
}

// Protocols a Port may name.
const (
	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolSCTP = "SCTP"
)

// Port is a port or a port range (EndPort > Port) of one protocol.
type Port struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
	// EndPort is the last port of a range; zero means the single Port.
	EndPort int `json:"end_port,omitempty"`
}

// String renders p as config files write it: "8080/tcp", "9000-9100/udp".
func (p Port) String() string {
	s := strconv.Itoa(p.Port)
	if p.EndPort > p.Port {
		s += "-" + strconv.Itoa(p.EndPort)
	}
	return s + "/" + strings.ToLower(p.Protocol)
}

// MarshalText writes p as its spec, so that JSON and Rego see "8080/tcp".
func (p Port) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a spec written by MarshalText or by hand (ParsePort).
func (p *Port) UnmarshalText(b []byte) error {
	v, err := ParsePort(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Last returns the last port of the range (Port for a single port).
func (p Port) Last() int { return max(p.Port, p.EndPort) }

// ParsePort parses a port spec: "8080", "8080/tcp", "9000-9100/udp",
// "53/UDP". The protocol defaults to TCP.
func ParsePort(s string) (Port, error) {
	spec, proto, hasProto := strings.Cut(strings.TrimSpace(s), "/")
	p := Port{Protocol: ProtocolTCP}
	if hasProto {
		switch strings.ToUpper(proto) {
		case ProtocolTCP, ProtocolUDP, ProtocolSCTP:
			p.Protocol = strings.ToUpper(proto)
		default:
			return Port{}, fmt.Errorf("port %q: protocol must be tcp, udp or sctp, got %q", s, proto)
		}
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	var err error
	if p.Port, err = parsePortNumber(lo); err != nil {
		return Port{}, fmt.Errorf("port %q: %w", s, err)
	}
	if isRange {
		if p.EndPort, err = parsePortNumber(hi); err != nil {
			return Port{}, fmt.Errorf("port %q: %w", s, err)
		}
		if p.EndPort < p.Port {
			return Port{}, fmt.Errorf("port %q: range ends before it starts", s)
		}
		if p.EndPort == p.Port {
			p.EndPort = 0
		}
	}
	return p, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}

// ParseCIDR parses an IPv4 or IPv6 prefix and returns it in canonical form
// ("10.1.0.0/16"). A prefix with host bits set is refused rather than
// silently widened, since a traffic rule must open exactly what was written.
func ParseCIDR(s string) (string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR (like 10.20.0.0/16): %w", s, err)
	}
	if p.Masked() != p {
		return "", fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	return p.String(), nil
}

// FlowEnd is one end of a resolved flow.
type FlowEnd struct {
	// Workload and Target are set for a workload of the config; both are
	// empty for an outside CIDR, and Workload is empty for a label peer.
	Workload string `json:"workload,omitempty"`
	Target   string `json:"target,omitempty"`
	// Namespace is the workload's namespace on Target (empty for a label
	// peer, which may be in any namespace, and for a CIDR).
	Namespace string `json:"namespace,omitempty"`
	// Labels select the end's pods; empty for a CIDR.
	Labels map[string]string `json:"labels,omitempty"`
	// CIDRs are the addresses of the end: the target's network.cidrs for a
	// workload on another target, or the peer's CIDR.
	CIDRs []string `json:"cidrs,omitempty"`
}

// Flow is one allowed flow of traffic between two ends on some ports,
// resolved against the placements: a rule admitting workload A into B,
// with A on two targets and B on one, gives two flows.
type Flow struct {
	From  FlowEnd `json:"from"`
	To    FlowEnd `json:"to"`
	Ports []Port  `json:"ports,omitempty"`
}

// CrossTarget reports whether the flow leaves its source target, so that
// it must be opened at both ends (egress at the source, ingress at the
// destination) and in the cloud firewalls between them.
func (f Flow) CrossTarget() bool { return f.From.Target != "" && f.From.Target != f.To.Target }

// Namespace returns the namespace a workload's resources go to on t.
func (t *Target) Namespace(workload string) string {
	if t.Destination.Namespace != "" {
		return t.Destination.Namespace
	}
	return workload
}

// ResolveFlows turns the ingress rules of the placed workloads into flows:
// every placement of a destination workload gets a flow from every
// placement of each source workload, from each label peer, and from each
// CIDR. Flows come in placement order, then rule order. Placements of
// workloads or on targets that are not in the config are skipped.
func ResolveFlows(targets []Target, workloads []Workload, placements []Placement) []Flow {
	tgt := make(map[string]*Target, len(targets))
	for i := range targets {
		tgt[targets[i].Name] = &targets[i]
	}
	wl := make(map[string]*Workload, len(workloads))
	for i := range workloads {
		wl[workloads[i].Name] = &workloads[i]
	}
	on := map[string][]string{}
	for _, p := range placements {
		if !slices.Contains(on[p.Workload], p.Target) {
			on[p.Workload] = append(on[p.Workload], p.Target)
		}
	}
	var flows []Flow
	for _, p := range placements {
		w, t := wl[p.Workload], tgt[p.Target]
		if w == nil || t == nil || !w.Network.Isolated() {
			continue
		}
		to := FlowEnd{Workload: w.Name, Target: t.Name, Namespace: t.Namespace(w.Name),
			Labels: w.PodSelector(), CIDRs: t.Network.CIDRs}
		for _, r := range w.Network.Ingress {
			for _, peer := range r.From {
				switch {
				case peer.Workload != "":
					src := wl[peer.Workload]
					if src == nil {
						continue
					}
					for _, sn := range on[src.Name] {
						st := tgt[sn]
						if st == nil {
							continue
						}
						flows = append(flows, Flow{From: FlowEnd{Workload: src.Name, Target: st.Name,
							Namespace: st.Namespace(src.Name), Labels: src.PodSelector(), CIDRs: st.Network.CIDRs},
							To: to, Ports: r.Ports})
					}
				case len(peer.Labels) > 0:
					flows = append(flows, Flow{From: FlowEnd{Target: t.Name, Labels: peer.Labels}, To: to, Ports: r.Ports})
				case peer.CIDR != "":
					flows = append(flows, Flow{From: FlowEnd{CIDRs: []string{peer.CIDR}}, To: to, Ports: r.Ports})
				}
			}
		}
	}
	return flows
}

// SiteFlows are the flows one target must enforce: Ingress into its
// workloads, and Egress from its workloads to other targets.
type SiteFlows struct {
	Ingress []Flow `json:"ingress"`
	Egress  []Flow `json:"egress"`
}

// FlowsAt returns the flows target must open: the flows into it, and the
// cross-target flows out of it.
func FlowsAt(target string, flows []Flow) SiteFlows {
	var s SiteFlows
	for _, f := range flows {
		if f.To.Target == target {
			s.Ingress = append(s.Ingress, f)
		}
		if f.From.Target == target && f.CrossTarget() {
			s.Egress = append(s.Egress, f)
		}
	}
	return s
}

// RemoteCIDRs returns the addresses of the far end of a cross-target flow:
// its target's network.cidrs, which must be declared for the flow to be
// opened. what names the end in the error ("source", "destination",
// "peer").
func (e FlowEnd) RemoteCIDRs(what string) ([]string, error) {
	if len(e.CIDRs) == 0 {
		return nil, Errorf(EINVALID,
			"%s %s runs on %s, which declares no network.cidrs: give the target's address ranges so the flow can be opened", what, e.Workload, e.Target)
	}
	return e.CIDRs, nil
}

// Firewall rule directions.
const (
	DirectionIngress = "ingress"
	DirectionEgress  = "egress"
)

// FirewallRule is one direction of a flow as a cloud firewall sees it:
// the addresses on the far side and the ports (all when empty).
type FirewallRule struct {
	Workload  string   `json:"workload"`
	Direction string   `json:"direction"`
	CIDRs     []string `json:"cidrs"`
	Ports     []Port   `json:"ports,omitempty"`
	// Peer names the far end: "from kafka on aws-centre", "from
	// 0.0.0.0/0", "to kafka on aws-centre".
	Peer string `json:"peer"`
}

// FirewallRules lists the rules a cloud firewall of target must hold for
// workload: ingress from outside CIDRs and from workloads on other
// targets, egress to workloads on other targets. Traffic inside one
// target's cluster is left to its NetworkPolicies. It fails when the far
// end of a cross-target flow declares no network.cidrs.
func FirewallRules(workload, target string, flows []Flow) ([]FirewallRule, error) {
	var out []FirewallRule
	for _, f := range flows {
		switch {
		case f.To.Workload == workload && f.To.Target == target && (f.From.Target == "" || f.CrossTarget()):
			cidrs, peer := f.From.CIDRs, "from "+strings.Join(f.From.CIDRs, ", ")
			if f.From.Target != "" {
				var err error
				if cidrs, err = f.From.RemoteCIDRs("source"); err != nil {
					return nil, err
				}
				if f.From.Workload != "" {
					peer = "from " + f.From.Workload + " on " + f.From.Target
				}
			}
			out = append(out, FirewallRule{Workload: workload, Direction: DirectionIngress, CIDRs: cidrs, Ports: f.Ports, Peer: peer})
		case f.From.Workload == workload && f.From.Target == target && f.CrossTarget():
			cidrs, err := f.To.RemoteCIDRs("destination")
			if err != nil {
				return nil, err
			}
			out = append(out, FirewallRule{Workload: workload, Direction: DirectionEgress, CIDRs: cidrs, Ports: f.Ports,
				Peer: "to " + f.To.Workload + " on " + f.To.Target})
		}
	}
	return out, nil
}

// HeldBack returns the workloads the plan holds back: those with a
// blocking finding (Placement.Blocked) and those no target can host. They
// keep running as they are; the plan neither moves nor scales them.
func HeldBack(plan *Plan) map[string]bool {
	held := map[string]bool{}
	for _, u := range plan.Unplaceable {
		held[u.Workload] = true
	}
	for _, p := range plan.Placements {
		if p.Blocked {
			held[p.Workload] = true
		}
	}
	return held
}

// LandedPlacements returns where the plan's workloads run once it is
// applied, which is what traffic rules must follow rather than the plan's
// wishes: every placement of a workload the plan does not hold back, and,
// for a held-back workload (HeldBack), the targets it runs on now
// (plan.Current). running adds placements that keep running besides, such
// as the old targets of a move still waiting for its new ones, or where
// the deploy repo still runs a held-back workload. Held-back entries have
// Blocked set. The result has one entry per (workload, target), sorted by
// workload and target.
func LandedPlacements(plan *Plan, running map[string][]string) []Placement {
	held := HeldBack(plan)
	seen := map[[2]string]bool{}
	var out []Placement
	add := func(p Placement) {
		if k := [2]string{p.Workload, p.Target}; !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	for _, p := range plan.Placements {
		if !held[p.Workload] {
			add(Placement{Workload: p.Workload, Target: p.Target, Replicas: p.Replicas})
		}
	}
	for w := range held {
		for _, t := range plan.Current[w] {
			add(Placement{Workload: w, Target: t, Blocked: true})
		}
	}
	for w, ts := range running {
		for _, t := range ts {
			add(Placement{Workload: w, Target: t, Blocked: held[w]})
		}
	}
	slices.SortFunc(out, func(a, b Placement) int {
		return cmp.Or(strings.Compare(a.Workload, b.Workload), strings.Compare(a.Target, b.Target))
	})
	return out
}
