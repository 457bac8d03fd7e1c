package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// isolationRE is an isolation class name: a DNS label, since classes
// become labels and Rego set members.
var isolationRE = nameRE

func networkModelNames() string {
	ms := meridian.NetworkModels()
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// validateTargetNetwork checks a target's network block and canonicalises
// its CIDRs and isolation classes.
func (l *loader) validateTargetNetwork(t *meridian.Target) {
	n, o := &t.Network, t.Origin
	if _, declared := o.Lines["network"]; !declared {
		return
	}
	switch {
	case n.Model == "":
		l.at(o, "network.model", "required, one of %s", networkModelNames())
	case !n.Model.Valid():
		l.at(o, "network.model", "must be one of %s, got %q", networkModelNames(), n.Model)
	}
	if n.Model == meridian.NetworkInternet && n.Private {
		l.at(o, "network.private", "a target on the internet network model has no private connectivity")
	}
	for i, c := range n.IsolationClasses {
		if !isolationRE.MatchString(c) {
			l.at(o, fmt.Sprintf("network.isolation_classes.%d", i), "must be a DNS label, got %q", c)
		}
	}
	slices.Sort(n.IsolationClasses)
	n.IsolationClasses = slices.Compact(n.IsolationClasses)
	for i, c := range n.CIDRs {
		f := fmt.Sprintf("network.cidrs.%d", i)
		canon, err := meridian.ParseCIDR(c)
		if err != nil {
			l.at(o, f, "%v", err)
			continue
		}
		n.CIDRs[i] = canon
	}
}

// validateWorkloadNetwork checks a workload's network block: peers and
// traffic sources must name workloads of the config, label peers need
// labels, CIDRs must parse, and HTTP routes need a path and a port.
func (l *loader) validateWorkloadNetwork(w *meridian.Workload, names map[string]bool) {
	n, o := &w.Network, w.Origin
	if _, declared := o.Lines["network"]; !declared {
		return
	}
	if c := n.Isolation; c != "" && !isolationRE.MatchString(c) {
		l.at(o, "network.isolation", "must be a DNS label, got %q", c)
	}
	for i, p := range n.Peers {
		f := fmt.Sprintf("network.peers.%d", i)
		switch {
		case p == w.Name:
			l.at(o, f, "a workload need not name itself as a peer")
		case !names[p]:
			l.at(o, f, "workload %q is not defined in %s/", p, WorkloadsDir)
		}
	}
	for k, v := range n.Selector {
		if k == "" || v == "" {
			l.at(o, "network.selector", "labels need a key and a value")
		}
	}
	// An explicit "ingress: []" denies all traffic; keep it distinct from
	// an absent block even though the decoder builds a nil slice for it.
	if _, ok := o.Lines["network.ingress"]; ok && n.Ingress == nil {
		n.Ingress = []meridian.TrafficRule{}
	}
	for i := range n.Ingress {
		r := &n.Ingress[i]
		rf := fmt.Sprintf("network.ingress.%d", i)
		if len(r.From) == 0 {
			l.at(o, rf+".from", "required: the workloads, labels or CIDRs allowed in")
		}
		for j := range r.From {
			l.validatePeer(o, fmt.Sprintf("%s.from.%d", rf, j), &r.From[j], names)
		}
	}
	seen := map[string]int{}
	for i, h := range n.HTTP {
		f := fmt.Sprintf("network.http.%d", i)
		if !strings.HasPrefix(h.Path, "/") {
			l.at(o, f+".path", "required, an absolute path prefix such as /api, got %q", h.Path)
		}
		if h.Port < 1 || h.Port > 65535 {
			l.at(o, f+".port", "required, the Service port (1-65535), got %d", h.Port)
		}
		key := h.Host + h.Path
		if j, dup := seen[key]; dup {
			l.at(o, f+".path", "duplicates network.http.%d", j)
		}
		seen[key] = i
	}
}

func (l *loader) validatePeer(o meridian.Origin, f string, p *meridian.TrafficPeer, names map[string]bool) {
	set := 0
	for _, b := range []bool{p.Workload != "", len(p.Labels) > 0, p.CIDR != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		l.at(o, f, "give exactly one of workload, labels and cidr")
		return
	}
	switch {
	case p.Workload != "" && !names[p.Workload]:
		l.at(o, f+".workload", "workload %q is not defined in %s/", p.Workload, WorkloadsDir)
	case p.CIDR != "":
		canon, err := meridian.ParseCIDR(p.CIDR)
		if err != nil {
			l.at(o, f+".cidr", "%v", err)
			return
		}
		p.CIDR = canon
	}
}
