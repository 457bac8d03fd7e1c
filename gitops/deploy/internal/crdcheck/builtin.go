package crdcheck

import (
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Built-in kinds have no CRD: the API server validates them with code in
// k8s.io/kubernetes, which is not a library. builtinChecks decodes them
// strictly into the k8s.io/api types (unknown fields and wrong types
// fail, as a strict server-side apply does) and checks the rules a
// renderer can get wrong; the e2e test applies them to a real API server.
var builtinChecks = map[schema.GroupVersionKind]func(doc []byte) field.ErrorList{
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"): checkNetworkPolicy,
	networkingv1.SchemeGroupVersion.WithKind("Ingress"):       checkIngress,
}

func strict(doc []byte, into any) field.ErrorList {
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath(""), nil, "strict decoding: "+err.Error())}
	}
	return nil
}

func checkNetworkPolicy(doc []byte) field.ErrorList {
	var np networkingv1.NetworkPolicy
	if errs := strict(doc, &np); errs != nil {
		return errs
	}
	errs := namespacedMeta(np.Name, np.Namespace)
	spec := field.NewPath("spec")
	for i, r := range np.Spec.Ingress {
		errs = append(errs, checkPeers(spec.Child("ingress").Index(i).Child("from"), r.From)...)
		errs = append(errs, checkPorts(spec.Child("ingress").Index(i).Child("ports"), r.Ports)...)
	}
	for i, r := range np.Spec.Egress {
		errs = append(errs, checkPeers(spec.Child("egress").Index(i).Child("to"), r.To)...)
		errs = append(errs, checkPorts(spec.Child("egress").Index(i).Child("ports"), r.Ports)...)
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(spec.Child("policyTypes").Index(i), t, []string{"Ingress", "Egress"}))
		}
	}
	return errs
}

func checkPeers(p *field.Path, peers []networkingv1.NetworkPolicyPeer) field.ErrorList {
	var errs field.ErrorList
	for i, peer := range peers {
		ib := peer.IPBlock
		if ib == nil {
			if peer.PodSelector == nil && peer.NamespaceSelector == nil {
				errs = append(errs, field.Required(p.Index(i), "must specify a peer"))
			}
			continue
		}
		if peer.PodSelector != nil || peer.NamespaceSelector != nil {
			errs = append(errs, field.Forbidden(p.Index(i), "may not specify more than 1 peer type"))
		}
		cidr, err := netip.ParsePrefix(ib.CIDR)
		if err != nil {
			errs = append(errs, field.Invalid(p.Index(i).Child("ipBlock", "cidr"), ib.CIDR, err.Error()))
			continue
		}
		for j, e := range ib.Except {
			ex, err := netip.ParsePrefix(e)
			if err != nil || !cidr.Contains(ex.Addr()) || ex.Bits() <= cidr.Bits() {
				errs = append(errs, field.Invalid(p.Index(i).Child("ipBlock", "except").Index(j), e, "must be a strict subset of `cidr`"))
			}
		}
	}
	return errs
}

func checkPorts(p *field.Path, ports []networkingv1.NetworkPolicyPort) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		if port.EndPort != nil && (port.Port == nil || port.Port.IntVal > *port.EndPort) {
			errs = append(errs, field.Invalid(p.Index(i).Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
		}
		if port.Port != nil && port.Port.IntVal != 0 && (port.Port.IntVal < 1 || port.Port.IntVal > 65535) {
			errs = append(errs, field.Invalid(p.Index(i).Child("port"), port.Port.IntVal, "must be between 1 and 65535"))
		}
	}
	return errs
}

func checkIngress(doc []byte) field.ErrorList {
	var ing networkingv1.Ingress
	if errs := strict(doc, &ing); errs != nil {
		return errs
	}
	errs := namespacedMeta(ing.Name, ing.Namespace)
	for i, r := range ing.Spec.Rules {
		p := field.NewPath("spec", "rules").Index(i).Child("http", "paths")
		if r.HTTP == nil || len(r.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(p, "an HTTP rule needs paths"))
			continue
		}
		for j, hp := range r.HTTP.Paths {
			if !strings.HasPrefix(hp.Path, "/") {
				errs = append(errs, field.Invalid(p.Index(j).Child("path"), hp.Path, "must be an absolute path"))
			}
			if hp.PathType == nil {
				errs = append(errs, field.Required(p.Index(j).Child("pathType"), "pathType must be specified"))
			}
			if s := hp.Backend.Service; s == nil || s.Name == "" || (s.Port.Number == 0 && s.Port.Name == "") {
				errs = append(errs, field.Required(p.Index(j).Child("backend", "service"), "a service name and port"))
			}
		}
	}
	return errs
}

func namespacedMeta(name, ns string) field.ErrorList {
	errs := validateName(map[string]any{"name": name})
	if ns == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "namespace"), "the kind is namespaced"))
	}
	return errs
}
