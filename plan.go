package meridian

// Plan is the outcome of one planning run over a config repo commit.
type Plan struct {
	// ID is derived from the plan's inputs (config commit and everything
	// else that went into it), so the same inputs give the same ID.
	ID     string `json:"id"`
	Repo   string `json:"repo,omitempty"`
	Commit string `json:"commit"`
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
	// Deploy is the deploy-repo change an apply would commit, when it was
	// computed.
	Deploy *DeployDiff `json:"deploy,omitempty"`
	// Terraform is each Terraform target's planned change, in target order.
	// It is empty when the plan was made without a Terraform binary.
	Terraform []TargetChange `json:"terraform,omitempty"`
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
	RunnerUp        *RunnerUp         `json:"runner_up"`
	CapacityBlocked []CapacityBlocked `json:"capacity_blocked"`
	Rejected        []Rejection       `json:"rejected"`
	Sizing          *Sizing           `json:"sizing,omitempty"`
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

// Rejection lists why a target was not allowed for a workload.
type Rejection struct {
	Target  string   `json:"target"`
	Rules   []string `json:"rules"`
	Reasons []string `json:"reasons,omitempty"`
}

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
	Workload string      `json:"workload"`
	Reason   string      `json:"reason"`
	Targets  []Rejection `json:"targets"`
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
