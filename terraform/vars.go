package terraform

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"

	"github.com/meridianhq/meridian"
)

// Vars is meridian.auto.tfvars.json: the target and the placements on it.
// It deliberately holds no plan ID or commit, so that re-planning the same
// placements converges to "no changes".
type Vars struct {
	Target     TargetVars
	Placements map[string]PlacementVars
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
	for k, x := range v.Extra {
		if _, taken := doc[k]; taken {
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
