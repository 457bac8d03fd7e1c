package meridian

// PlanSchemaVersion is the version of the plan document this build writes
// (docs/plan-json.md). Version 2 groups the rejected targets of an
// explanation by rule and reason; documents without the field are
// version 1, which listed every rejected target.
const PlanSchemaVersion = 2

// NearestTargets is how many targets an explanation names per group of
// rejected targets, and how many capacity-blocked targets it lists: the
// cheapest ones, where the workload would most likely have gone. The
// others are counted; `meridian explain` lists them all.
const NearestTargets = 3

// Plan is the outcome of one planning run over a config repo commit.
type Plan struct {
	// SchemaVersion is PlanSchemaVersion for plans made by this build, and
	// 0 for documents written before the field existed (version 1).
	SchemaVersion int `json:"schema_version"`
	// ID is derived from the plan's inputs (config commit and everything
	// else that went into it), so the same inputs give the same ID.
	ID string `json:"id"`
	// InputsDigest is derived from what placement depends on alone: the
	// commit, config, ledger, catalog and sizing. It is the ID, unless
	// planning with Terraform extended the ID with the targets' state.
	// planner.Explain checks a document against a config with it.
	InputsDigest string `json:"inputs_digest"`
	Repo         string `json:"repo,omitempty"`
	Commit       string `json:"commit"`
	// Dirty is set when the config came from a working tree with
	// uncommitted changes.
	Dirty            bool          `json:"dirty,omitempty"`
	Currency         string        `json:"currency"`
	Placements       []Placement   `json:"placements"`
	Unplaceable      []Unplaceable `json:"unplaceable"`
	Findings         []Finding     `json:"findings"`
	TotalMonthlyCost Money         `json:"total_monthly_cost"`
	Solver           SolverStats   `json:"solver"`
	// Catalog is the provenance of the price catalog used.
	Catalog string `json:"catalog,omitempty"`
	// Current is the applied-state ledger the plan started from: each
	// workload with the targets it ran on, sorted. It is one of the plan's
	// inputs, kept so that one workload's explanation can be recomputed
	// from the document (planner.Explain).
	Current map[string][]string `json:"current,omitempty"`
	// Deploy is the deploy-repo change an apply would commit, when it was
	// computed.
	Deploy *DeployDiff `json:"deploy,omitempty"`
	// Terraform is each Terraform target's planned change, in target order.
	// It is empty when the plan was made without a Terraform binary.
	Terraform []TargetChange `json:"terraform,omitempty"`
	// Destroy lists the targets and workloads that left the config while
	// Meridian still runs something for them, with what an apply destroys
	// (see DestroyItem): applying needs consent for each unprotected one.
	Destroy []DestroyItem `json:"destroy,omitempty"`
}

// Blocking reports whether the plan has a deny finding or an unplaceable
// workload: the condition for exit code 2 and a failing commit status.
func (p *Plan) Blocking() bool {
	if len(p.Unplaceable) > 0 {
		return true
	}
	for _, f := range p.Findings {
		if f.Blocking() {
			return true
		}
	}
	return false
}

// Placement is one (workload, target) pair of the plan. A workload with
// spread N has N placements.
type Placement struct {
	Workload    string        `json:"workload"`
	Target      string        `json:"target"`
	Replicas    int           `json:"replicas"`
	MonthlyCost Money         `json:"monthly_cost"`
	Cost        CostBreakdown `json:"cost"`
	// Blocked is set when the workload has a deny finding: it is placed and
	// costed, but apply holds it at its applied replicas.
	Blocked     bool        `json:"blocked"`
	Explanation Explanation `json:"explanation"`
}

// Explanation says why a placement is where it is.
type Explanation struct {
	Reason string `json:"reason"`
	// RunnerUp is the cheapest other compliant target with capacity, if any.
	RunnerUp *RunnerUp `json:"runner_up"`
	// CapacityBlocked are the compliant targets that would have been
	// cheaper but had no room left, the largest saving first: at most
	// NearestTargets of them. CapacityBlockedCount counts them all.
	CapacityBlocked      []CapacityBlocked `json:"capacity_blocked"`
	CapacityBlockedCount int               `json:"capacity_blocked_count"`
	// Rejected groups the targets that fail a deny placement rule by rule
	// and reason (see RejectionGroup). A target failing two rules is in
	// two groups; RejectedCount counts each rejected target once. They
	// are the same for every placement of a workload.
	Rejected      []RejectionGroup `json:"rejected"`
	RejectedCount int              `json:"rejected_count"`
	Sizing        *Sizing          `json:"sizing,omitempty"`
	// Current is the target the workload runs on now, per the ledger.
	Current string `json:"current,omitempty"`
}

// RunnerUp is the next best target.
type RunnerUp struct {
	Target    string `json:"target"`
	ExtraCost Money  `json:"extra_cost"`
}

// CapacityBlocked is a cheaper compliant target that had no room left.
type CapacityBlocked struct {
	Target string `json:"target"`
	// Saving is how much cheaper per month it would have been.
	Saving Money  `json:"saving"`
	Reason string `json:"reason"`
}

// RejectionGroup is the targets a workload cannot use for one rule and one
// reason, such as "MER-RET-001: requires 400 days of log retention; target
// keeps logs at most 365 days" on 143 targets.
type RejectionGroup struct {
	// Rule is the deny rule's ID. Unplaceable workloads also have groups
	// for the solver's own reasons: capacity, pin, price, spread,
	// spread_by and hysteresis.
	Rule string `json:"rule"`
	// Reason is the rule's message. It is empty on the group that folds
	// together the targets the rule rejects for OtherReasons further
	// messages, when a rule has more than a few.
	Reason       string `json:"reason,omitempty"`
	OtherReasons int    `json:"other_reasons,omitempty"`
	// Count is how many targets the group holds.
	Count int `json:"count"`
	// Nearest names the group's NearestTargets cheapest targets for the
	// workload, cheapest first (by name among equals, targets without a
	// price last).
	Nearest []string `json:"nearest"`
}

// More is how many of the group's targets Nearest leaves unnamed.
func (g RejectionGroup) More() int { return max(0, g.Count-len(g.Nearest)) }

// Sizing records how the replica count was chosen.
type Sizing struct {
	// Method is "replicas.min" or "forecast".
	Method   string  `json:"method"`
	Replicas int     `json:"replicas"`
	Model    string  `json:"model,omitempty"`
	PeakP50  float64 `json:"peak_p50,omitempty"`
	PeakPq   float64 `json:"peak_pq,omitempty"`
	Quantile float64 `json:"quantile,omitempty"`
	Headroom float64 `json:"headroom,omitempty"`
	// SLA is forecast.sla when sizing targeted it.
	SLA float64 `json:"sla,omitempty"`
	// StaticPeakReplicas is what static peak provisioning would run: the
	// peak of the whole load history plus headroom, within the replica
	// bounds; zero when the workload has no history. Views compare the
	// plan with it (the saving against static peak placement).
	StaticPeakReplicas int `json:"static_peak_replicas,omitempty"`
	// ExpectedUnservedPercent is the share of the forecast demand over the
	// horizon that the capacity is expected to leave unserved, from the
	// calibrated error distribution; nil when there was none.
	ExpectedUnservedPercent *float64 `json:"expected_unserved_percent,omitempty"`
}

// Unplaceable is a workload no target could host.
type Unplaceable struct {
	Workload string `json:"workload"`
	Reason   string `json:"reason"`
	// Targets groups every declared target by the rule and reason that
	// kept the workload off it, as Explanation.Rejected does.
	Targets []RejectionGroup `json:"targets"`
	// Sizing records how the replica count was chosen, as on placements.
	Sizing *Sizing `json:"sizing,omitempty"`
}

// SolverStats reports the solution quality.
type SolverStats struct {
	Method     string  `json:"method"`
	LowerBound Money   `json:"lower_bound"`
	GapPercent float64 `json:"gap_percent"`
	Optimal    bool    `json:"optimal"`
	// Seconds is kept out of the JSON so that a plan is a pure function of
	// its inputs.
	Seconds float64 `json:"-"`
}
