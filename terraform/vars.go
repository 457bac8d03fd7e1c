package terraform

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/meridianhq/meridian"
)

// Vars is meridian.auto.tfvars.json: the target, the placements on it and
// the firewall rules their traffic needs. It deliberately holds no plan ID
// or commit, so that re-planning the same placements converges to "no
// changes".
type Vars struct {
	Target     TargetVars
	Placements map[string]PlacementVars
	// NetworkRules are written as network_rules only when there are any,
	// so that a module without traffic rules need not declare the variable.
	NetworkRules []NetworkRuleVars
	// Extra are the target's terraform.vars, written at the top level.
	Extra map[string]string
}

// TargetVars describes the target to its module.
type TargetVars struct {
	Name                string            `json:"name"`
	Provider            string            `json:"provider"`
	Region              string            `json:"region"`
	Jurisdiction        string            `json:"jurisdiction"`
	Encryption          string            `json:"encryption"`
	KMS                 string            `json:"kms"`
	LogRetentionMaxDays int               `json:"log_retention_max_days"`
	Labels              map[string]string `json:"labels"`
}

// PlacementVars is one workload on the target.
type PlacementVars struct {
	Name             string            `json:"name"`
	Replicas         int               `json:"replicas"`
	VCPU             float64           `json:"vcpu"`
	MemoryGiB        float64           `json:"memory_gib"`
	Tags             map[string]string `json:"tags"`
	Encryption       string            `json:"encryption"`
	LogRetentionDays int               `json:"log_retention_days"`
}

// ProtocolAll is the protocol of a NetworkRuleVars that opens every port
// of every protocol.
const ProtocolAll = "all"

// NetworkRuleVars is one firewall rule of a placement: traffic of one
// protocol on a port range, from (ingress) or to (egress) the CIDRs. A
// rule for every protocol has protocol "all" and ports 0-0.
type NetworkRuleVars struct {
	Workload    string   `json:"workload"`
	Direction   string   `json:"direction"`
	Protocol    string   `json:"protocol"`
	FromPort    int      `json:"from_port"`
	ToPort      int      `json:"to_port"`
	CIDRs       []string `json:"cidrs"`
	Description string   `json:"description"`
}

// descriptionPrefix starts the description of every NetworkRuleVars.
const descriptionPrefix = "meridian: "

// NewNetworkRules flattens firewall rules of target into one entry per
// protocol and port range, sorted, without duplicates, as Terraform's
// firewall resources take them.
func NewNetworkRules(target string, rules []meridian.FirewallRule) []NetworkRuleVars {
	var out []NetworkRuleVars
	for _, r := range rules {
		base := NetworkRuleVars{Workload: r.Workload, Direction: r.Direction, Protocol: ProtocolAll,
			CIDRs: slices.Sorted(slices.Values(r.CIDRs)), Description: descriptionPrefix + r.Workload + " on " + target + " " + r.Peer}
		if len(r.Ports) == 0 {
			out = append(out, base)
		}
		for _, p := range r.Ports {
			v := base
			v.Protocol, v.FromPort, v.ToPort = strings.ToLower(p.Protocol), p.Port, p.Last()
			out = append(out, v)
		}
	}
	// Rules that open the same thing are one rule, so that a module can key
	// its resources by what they open; their descriptions are joined.
	cmpRule := func(a, b NetworkRuleVars) int {
		return cmp.Or(strings.Compare(a.Workload, b.Workload), strings.Compare(a.Direction, b.Direction),
			strings.Compare(a.Protocol, b.Protocol), cmp.Compare(a.FromPort, b.FromPort), cmp.Compare(a.ToPort, b.ToPort),
			slices.Compare(a.CIDRs, b.CIDRs))
	}
	slices.SortStableFunc(out, cmpRule)
	var merged []NetworkRuleVars
	for _, r := range out {
		if n := len(merged); n > 0 && cmpRule(merged[n-1], r) == 0 {
			// Whole parts are compared: "from kafka on aws" is another
			// peer than "from kafka on aws-centre".
			d := strings.TrimPrefix(r.Description, descriptionPrefix)
			if !slices.Contains(strings.Split(strings.TrimPrefix(merged[n-1].Description, descriptionPrefix), "; "), d) {
				merged[n-1].Description += "; " + d
			}
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// NewTargetVars describes t.
func NewTargetVars(t *meridian.Target) TargetVars {
	return TargetVars{
		Name: t.Name, Provider: string(t.Provider), Region: t.Region, Jurisdiction: t.Jurisdiction,
		Encryption: t.Encryption.Level().String(), KMS: t.Encryption.KMS, LogRetentionMaxDays: t.LogRetentionMaxDays,
		Labels: nonNil(t.Labels),
	}
}

// NewPlacementVars describes replicas of w.
func NewPlacementVars(w *meridian.Workload, replicas int) PlacementVars {
	return PlacementVars{
		Name: w.Name, Replicas: replicas, VCPU: w.PerReplica.VCPU, MemoryGiB: w.PerReplica.MemoryGiB,
		Tags: nonNil(w.Tags), Encryption: w.Requires.Encryption.String(), LogRetentionDays: w.Requires.LogRetentionDays,
	}
}

// nonNil turns a nil map into an empty one: Terraform reads null and {}
// differently, and a module should not have to care.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// MarshalJSON writes the tfvars document with sorted keys.
func (v Vars) MarshalJSON() ([]byte, error) {
	doc := map[string]any{"target": v.Target, "placements": v.Placements}
	if v.Placements == nil {
		doc["placements"] = map[string]PlacementVars{}
	}
	if len(v.NetworkRules) > 0 {
		doc["network_rules"] = v.NetworkRules
	}
	for k, x := range v.Extra {
		if _, taken := doc[k]; taken || k == "network_rules" {
			return nil, fmt.Errorf("terraform.vars.%s: the name is reserved for Meridian", k)
		}
		doc[k] = x
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Workloads lists the placements' workloads and replicas, by name.
func (v Vars) Workloads() []string {
	out := make([]string, 0, len(v.Placements))
	for k := range v.Placements {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
