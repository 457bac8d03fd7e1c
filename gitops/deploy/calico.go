package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/meridian"
)

// Calico's GlobalNetworkPolicy (projectcalico.org/v3), as its CRD in
// testdata/schemas describes it; only the fields Meridian writes.
type calicoPolicy struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       calicoPolicySpec  `json:"spec"`
}

type calicoPolicySpec struct {
	// Order puts Meridian's policy after operators' low-order policies
	// (Calico evaluates lower orders first).
	Order    float64      `json:"order"`
	Selector string       `json:"selector"`
	Types    []string     `json:"types"`
	Ingress  []calicoRule `json:"ingress"`
	Egress   []calicoRule `json:"egress"`
}

type calicoRule struct {
	Action      string          `json:"action"`
	Protocol    string          `json:"protocol,omitempty"`
	Source      *calicoEndpoint `json:"source,omitempty"`
	Destination *calicoEndpoint `json:"destination,omitempty"`
}

type calicoEndpoint struct {
	Selector          string   `json:"selector,omitempty"`
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	Nets              []string `json:"nets,omitempty"`
	NotNets           []string `json:"notNets,omitempty"`
	// Ports are numbers or "first:last" ranges.
	Ports []any `json:"ports,omitempty"`
}

const calicoOrder = 1000

// calicoSelector renders a label selector in Calico's selector language,
// keys sorted so the output is stable.
func calicoSelector(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s == '%s'", k, labels[k]))
	}
	return strings.Join(parts, " && ")
}

// workloadSelector selects a placement's pods in its namespace.
func workloadSelector(p sitePlacement) string {
	return calicoSelector(p.w.PodSelector()) + " && projectcalico.org/namespace == '" + p.t.Namespace(p.w.Name) + "'"
}

// calicoPolicy renders one GlobalNetworkPolicy for a Calico site, covering
// every isolated workload on it with the same rules as their Kubernetes
// NetworkPolicies, so that edge and centre keep one set of access rules.
func (r *renderer) calicoPolicy(t *meridian.Target, isolated []sitePlacement, at meridian.SiteFlows) (any, error) {
	spec := calicoPolicySpec{Order: calicoOrder, Types: []string{"Ingress", "Egress"}, Ingress: []calicoRule{}, Egress: []calicoRule{}}
	var sels []string
	for _, p := range isolated {
		self := workloadSelector(p)
		sels = append(sels, "("+self+")")
		in, err := ingressRules(p, at)
		if err != nil {
			return nil, err
		}
		for _, rule := range in {
			for _, proto := range protocolGroups(rule.Ports) {
				dst := &calicoEndpoint{Selector: self, Ports: calicoPorts(rule.Ports, proto)}
				spec.Ingress = append(spec.Ingress, calicoRule{Action: "Allow", Protocol: proto, Source: calicoPeer(rule.Peer), Destination: dst})
			}
		}
		out, err := r.egressRules(p)
		if err != nil {
			return nil, err
		}
		for _, rule := range out {
			for _, proto := range protocolGroups(rule.Ports) {
				dst := calicoPeer(rule.Peer)
				if dst == nil {
					dst = &calicoEndpoint{}
				}
				dst.Ports = calicoPorts(rule.Ports, proto)
				if dst.Selector == "" && dst.NamespaceSelector == "" && len(dst.Nets) == 0 && len(dst.Ports) == 0 {
					dst = nil
				}
				spec.Egress = append(spec.Egress, calicoRule{Action: "Allow", Protocol: proto, Source: &calicoEndpoint{Selector: self}, Destination: dst})
			}
		}
	}
	spec.Selector = strings.Join(sels, " || ")
	return calicoPolicy{
		APIVersion: "projectcalico.org/v3", Kind: "GlobalNetworkPolicy",
		Metadata: metav1.ObjectMeta{Name: "meridian-" + t.Name, Labels: map[string]string{
			LabelManagedBy: managedBy, LabelTarget: t.Name, LabelLayer: LayerNetwork,
		}},
		Spec: spec,
	}, nil
}

// protocolGroups lists the protocols of ports in first-seen order: a
// Calico rule has one protocol, so a rule over TCP and UDP ports becomes
// two. No ports means one rule for any protocol ("").
func protocolGroups(ports []meridian.Port) []string {
	if len(ports) == 0 {
		return []string{""}
	}
	var out []string
	for _, p := range ports {
		if !slices.Contains(out, p.Protocol) {
			out = append(out, p.Protocol)
		}
	}
	return out
}

func calicoPorts(ports []meridian.Port, proto string) []any {
	var out []any
	for _, p := range ports {
		if p.Protocol != proto {
			continue
		}
		if p.EndPort > p.Port {
			out = append(out, strconv.Itoa(p.Port)+":"+strconv.Itoa(p.EndPort))
		} else {
			out = append(out, p.Port)
		}
	}
	return out
}

// calicoPeer is a peer as a Calico rule endpoint; nil matches anything.
func calicoPeer(p peerEnd) *calicoEndpoint {
	switch {
	case p.Any:
		return nil
	case p.Internet:
		return &calicoEndpoint{Nets: []string{internet}, NotNets: privateRanges}
	case len(p.CIDRs) > 0:
		return &calicoEndpoint{Nets: p.CIDRs}
	case p.AnyNamespace:
		return &calicoEndpoint{Selector: calicoSelector(p.Labels), NamespaceSelector: "all()"}
	}
	return &calicoEndpoint{Selector: calicoSelector(p.Labels), NamespaceSelector: "projectcalico.org/name == '" + p.Namespace + "'"}
}
