package deploy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
)

// A site's network objects (NetworkPolicies, Ingresses, the Calico
// GlobalNetworkPolicy) live in sites/<target>/ and reach the target's
// cluster through one Application per site, apps/_sites/<target>.yaml.
// "_sites" is not a DNS label, so no workload can own that folder.
const (
	sitesDir     = "sites"
	siteAppsDir  = "_sites"
	LayerNetwork = "network"
	// namespaceLabel is the label every namespace carries with its name
	// (Kubernetes 1.22+), which selects one namespace in a policy peer.
	namespaceLabel = "kubernetes.io/metadata.name"
)

func siteAppFile(t string) string       { return path.Join(appsDir, siteAppsDir, t+".yaml") }
func siteFile(t, file string) string    { return path.Join(sitesDir, t, file) }
func siteAppName(t string) string       { return t + "." + LayerNetwork + ".site" }
func networkObjectName(w string) string { return "meridian-" + w }

// SiteOwner returns the target a deploy-tree path of a site's network
// objects belongs to, and false for any other path.
func SiteOwner(p string) (target string, ok bool) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 3 && parts[0] == appsDir && parts[1] == siteAppsDir:
		t, ok := strings.CutSuffix(parts[2], ".yaml")
		return t, ok && t != ""
	case len(parts) == 3 && parts[0] == sitesDir && parts[1] != "" && parts[2] != "":
		return parts[1], true
	}
	return "", false
}

// k8sObject is a built-in Kubernetes object without status, which a
// deploy repo never holds.
type k8sObject[S any] struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       S                 `json:"spec"`
}

// sitePlacement is one rendered placement, as the network renderers see it.
type sitePlacement struct {
	w *meridian.Workload
	t *meridian.Target
}

// sites renders every target's network objects and the Application that
// syncs them, from the flows resolved over the placements.
func (r *renderer) sites(placements []meridian.Placement) error {
	byTarget := map[string][]sitePlacement{}
	for _, p := range placements {
		w, _ := workload(r.cfg, p.Workload)
		t, _ := r.cfg.Target(p.Target)
		if w == nil || t == nil {
			continue
		}
		if ps := byTarget[t.Name]; len(ps) > 0 && ps[len(ps)-1].w == w {
			continue
		}
		byTarget[t.Name] = append(byTarget[t.Name], sitePlacement{w, t})
	}
	targets := slices.Sorted(maps.Keys(byTarget))
	for _, tn := range targets {
		ps := byTarget[tn]
		t := ps[0].t
		at := meridian.FlowsAt(tn, r.flows)
		files := map[string]any{}
		var isolated []sitePlacement
		for _, p := range ps {
			if p.w.Network.Isolated() {
				isolated = append(isolated, p)
				np, err := r.networkPolicy(p, at)
				if err != nil {
					return fmt.Errorf("render network policy of %s on %s: %w", p.w.Name, tn, err)
				}
				files["networkpolicy."+p.w.Name+".yaml"] = np
			}
			if len(p.w.Network.HTTP) > 0 {
				files["ingress."+p.w.Name+".yaml"] = r.ingress(p)
			}
		}
		if t.Network.Calico && len(isolated) > 0 {
			gnp, err := r.calicoPolicy(t, isolated, at)
			if err != nil {
				return fmt.Errorf("render Calico policy of %s: %w", tn, err)
			}
			files["calico-globalnetworkpolicy.yaml"] = gnp
		}
		if len(files) == 0 {
			continue
		}
		for _, f := range slices.Sorted(maps.Keys(files)) {
			if err := r.add(siteFile(tn, f), files[f]); err != nil {
				return err
			}
		}
		if err := r.add(siteAppFile(tn), r.siteApp(t)); err != nil {
			return err
		}
	}
	return nil
}

// siteApp syncs a target's network objects into its cluster.
func (r *renderer) siteApp(t *meridian.Target) *argocd.Application {
	return &argocd.Application{
		APIVersion: argocd.APIVersion,
		Kind:       argocd.KindApplication,
		Metadata:   r.meta(siteAppName(t.Name), map[string]string{LabelTarget: t.Name, LabelLayer: LayerNetwork}),
		Spec: argocd.ApplicationSpec{
			Project: r.s.Project,
			Source: &argocd.ApplicationSource{
				RepoURL:        r.repoURL,
				Path:           r.repoPath(path.Join(sitesDir, t.Name)),
				TargetRevision: r.s.Branch,
			},
			Destination: destination(t.Destination, t.Name, "default"),
			SyncPolicy:  r.syncPolicy(),
		},
	}
}

// peerEnd is one allowed peer of a rule, in the terms every renderer
// shares: pods by selector (in one namespace, or any when Namespace is
// empty and AnyNamespace is set), or address ranges.
type peerEnd struct {
	Labels       map[string]string
	Namespace    string
	AnyNamespace bool
	CIDRs        []string
	// Any is a peer that matches every address (the DNS rule's).
	Any bool
	// Internet is every address outside the private ranges.
	Internet bool
}

// peerRule is a peer and the ports it may use (all when empty).
type peerRule struct {
	Peer  peerEnd
	Ports []meridian.Port
}

const internet = "0.0.0.0/0"

// privateRanges are what "the internet" leaves out: a workload's internet
// egress never doubles as a way into private networks.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}

var dnsPorts = []meridian.Port{{Protocol: meridian.ProtocolUDP, Port: 53}, {Protocol: meridian.ProtocolTCP, Port: 53}}

// remote is the peer for the far end of a cross-target flow: its target's
// CIDRs, which must be declared for the flow to be opened.
func remote(end meridian.FlowEnd, what string) (peerEnd, error) {
	cidrs, err := end.RemoteCIDRs(what)
	return peerEnd{CIDRs: cidrs}, err
}

// ingressRules are the peers allowed into p.
func ingressRules(p sitePlacement, at meridian.SiteFlows) ([]peerRule, error) {
	var out []peerRule
	for _, f := range at.Ingress {
		if f.To.Workload != p.w.Name {
			continue
		}
		var peer peerEnd
		switch {
		case f.From.Target == "":
			peer = peerEnd{CIDRs: f.From.CIDRs}
		case f.CrossTarget():
			var err error
			if peer, err = remote(f.From, "source"); err != nil {
				return nil, err
			}
		case f.From.Workload == "":
			peer = peerEnd{Labels: f.From.Labels, AnyNamespace: true}
		default:
			peer = peerEnd{Labels: f.From.Labels, Namespace: f.From.Namespace}
		}
		out = append(out, peerRule{Peer: peer, Ports: f.Ports})
	}
	return out, nil
}

// egressRules are the peers p may send to: the flows out of it, its
// declared peers wherever they run, DNS, and the internet when the target
// has internet egress and the workload is not private-only.
func (r *renderer) egressRules(p sitePlacement) ([]peerRule, error) {
	var out []peerRule
	for _, f := range r.flows {
		if f.From.Workload != p.w.Name || f.From.Target != p.t.Name {
			continue
		}
		if f.CrossTarget() {
			peer, err := remote(f.To, "destination")
			if err != nil {
				return nil, err
			}
			out = append(out, peerRule{Peer: peer, Ports: f.Ports})
			continue
		}
		out = append(out, peerRule{Peer: peerEnd{Labels: f.To.Labels, Namespace: f.To.Namespace}, Ports: f.Ports})
	}
	for _, name := range p.w.Network.Peers {
		peerW, ok := workload(r.cfg, name)
		if !ok {
			continue
		}
		for _, tn := range r.placedOn[name] {
			pt, _ := r.cfg.Target(tn)
			if tn == p.t.Name {
				out = append(out, peerRule{Peer: peerEnd{Labels: peerW.PodSelector(), Namespace: pt.Namespace(name)}})
				continue
			}
			peer, err := remote(meridian.FlowEnd{Workload: name, Target: tn, CIDRs: pt.Network.CIDRs}, "peer")
			if err != nil {
				return nil, err
			}
			out = append(out, peerRule{Peer: peer})
		}
	}
	out = append(out, peerRule{Peer: peerEnd{Any: true}, Ports: dnsPorts})
	if p.t.Network.InternetEgress && !p.w.Network.PrivateOnly {
		out = append(out, peerRule{Peer: peerEnd{Internet: true}})
	}
	return out, nil
}

// networkPolicy renders the Kubernetes NetworkPolicy of an isolated
// placement: ingress from the resolved sources, egress as egressRules.
func (r *renderer) networkPolicy(p sitePlacement, at meridian.SiteFlows) (any, error) {
	in, err := ingressRules(p, at)
	if err != nil {
		return nil, err
	}
	out, err := r.egressRules(p)
	if err != nil {
		return nil, err
	}
	spec := networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: p.w.PodSelector()},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		// An empty list, not nil: "ingress: []" says deny all in the file.
		Ingress: []networkingv1.NetworkPolicyIngressRule{},
	}
	for _, rule := range in {
		spec.Ingress = append(spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: k8sPeers(rule.Peer), Ports: k8sPorts(rule.Ports)})
	}
	for _, rule := range out {
		spec.Egress = append(spec.Egress, networkingv1.NetworkPolicyEgressRule{To: k8sPeers(rule.Peer), Ports: k8sPorts(rule.Ports)})
	}
	return k8sObject[networkingv1.NetworkPolicySpec]{
		APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy",
		Metadata: r.siteMeta(networkObjectName(p.w.Name), p.t.Namespace(p.w.Name), p),
		Spec:     spec,
	}, nil
}

func (r *renderer) siteMeta(name, ns string, p sitePlacement) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
		LabelManagedBy: managedBy, LabelWorkload: p.w.Name, LabelTarget: p.t.Name, LabelLayer: LayerNetwork,
	}}
}

func k8sPeers(p peerEnd) []networkingv1.NetworkPolicyPeer {
	switch {
	case p.Any:
		return nil
	case p.Internet:
		return []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: internet, Except: privateRanges}}}
	case len(p.CIDRs) > 0:
		out := make([]networkingv1.NetworkPolicyPeer, len(p.CIDRs))
		for i, c := range p.CIDRs {
			out[i] = networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}}
		}
		return out
	}
	ns := &metav1.LabelSelector{}
	if !p.AnyNamespace {
		ns.MatchLabels = map[string]string{namespaceLabel: p.Namespace}
	}
	return []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: p.Labels}, NamespaceSelector: ns}}
}

func k8sPorts(ps []meridian.Port) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ps {
		proto := corev1.Protocol(p.Protocol)
		port := intstr.FromInt32(int32(p.Port))
		np := networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
		if p.EndPort > p.Port {
			end := int32(p.EndPort)
			np.EndPort = &end
		}
		out = append(out, np)
	}
	return out
}

// ingress renders the Ingress that routes a placement's HTTP paths to its
// Service, one rule per host.
func (r *renderer) ingress(p sitePlacement) any {
	byHost := map[string][]networkingv1.HTTPIngressPath{}
	prefix := networkingv1.PathTypePrefix
	for _, h := range p.w.Network.HTTP {
		svc := h.Service
		if svc == "" {
			svc = p.w.Name
		}
		byHost[h.Host] = append(byHost[h.Host], networkingv1.HTTPIngressPath{
			Path: h.Path, PathType: &prefix,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: svc, Port: networkingv1.ServiceBackendPort{Number: int32(h.Port)},
			}},
		})
	}
	hosts := slices.Sorted(maps.Keys(byHost))
	spec := networkingv1.IngressSpec{}
	if c := p.t.Network.IngressClass; c != "" {
		spec.IngressClassName = &c
	}
	for _, h := range hosts {
		paths := byHost[h]
		sort.SliceStable(paths, func(i, j int) bool { return paths[i].Path < paths[j].Path })
		spec.Rules = append(spec.Rules, networkingv1.IngressRule{Host: h,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}})
	}
	return k8sObject[networkingv1.IngressSpec]{
		APIVersion: "networking.k8s.io/v1", Kind: "Ingress",
		Metadata: r.siteMeta(networkObjectName(p.w.Name), p.t.Namespace(p.w.Name), p),
		Spec:     spec,
	}
}
