package meridian

import "math"

// Workload is a deployable service with its resource shape and requirements.
type Workload struct {
	Name          string            `json:"name"`
	Tags          map[string]string `json:"tags"`
	Replicas      ReplicaRange      `json:"replicas"`
	PerReplica    PerReplica        `json:"per_replica"`
	Requires      Requirements      `json:"requires"`
	StorageGB     float64           `json:"storage_gb"`
	EgressGBMonth float64           `json:"egress_gb_month"`
	Pin           string            `json:"pin,omitempty"`
	Load          Load              `json:"load,omitempty"`
	// Source is where Argo CD finds the workload's manifests.
	Source *Source `json:"source,omitempty"`
	// Network is what the workload needs from the network and who may
	// talk to it (see network.go).
	Network WorkloadNetwork `json:"network,omitzero"`
	Origin  Origin          `json:"-"`
}

// ReplicaRange bounds the replica count.
type ReplicaRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// PerReplica is the shape of one replica.
type PerReplica struct {
	VCPU      float64 `json:"vcpu"`
	MemoryGiB float64 `json:"memory_gib"`
	// Capacity is the load units one replica serves.
	Capacity float64 `json:"capacity"`
}

// Spread dimensions for Requirements.SpreadBy.
const (
	SpreadByTarget   = ""
	SpreadByProvider = "provider"
	SpreadByRegion   = "region"
)

// Requirements are what a target must offer to host the workload.
type Requirements struct {
	Encryption       EncryptionLevel `json:"encryption"`
	LogRetentionDays int             `json:"log_retention_days"`
	// Jurisdictions lists allowed jurisdictions; empty means any.
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	// Spread is the number of distinct targets to run on (at least 1).
	Spread int `json:"spread"`
	// SpreadBy makes the Spread targets distinct by provider or region too.
	SpreadBy string `json:"spread_by,omitempty"`
}

// Load says where the workload's load history comes from.
type Load struct {
	// History is a CSV path (timestamp,value) relative to the config root.
	History    string            `json:"history,omitempty"`
	Prometheus *PrometheusSource `json:"prometheus,omitempty"`
}

// PrometheusSource is a range query against the configured Prometheus.
type PrometheusSource struct {
	Query string `json:"query"`
	Step  string `json:"step,omitempty"`
}

// SpreadCount returns the effective spread (at least 1).
func (w *Workload) SpreadCount() int {
	if w.Requires.Spread < 1 {
		return 1
	}
	return w.Requires.Spread
}

// SplitReplicas turns a desired total r into the per-target replica count:
// r is clamped to [max(min, N), max] and each of the N targets carries
// ceil(r/N).
func (w *Workload) SplitReplicas(r int) (total, perTarget int) {
	n := w.SpreadCount()
	lo := max(w.Replicas.Min, n)
	if r < lo {
		r = lo
	}
	if w.Replicas.Max >= lo && r > w.Replicas.Max {
		r = w.Replicas.Max
	}
	return r, int(math.Ceil(float64(r) / float64(n)))
}
