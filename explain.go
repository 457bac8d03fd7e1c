package meridian

// Verdict says how a target fared for a workload in a plan.
type Verdict string

// The verdicts of WorkloadExplanation.Targets.
const (
	// VerdictChosen: the plan places the workload there.
	VerdictChosen Verdict = "chosen"
	// VerdictRunnerUp: the runner-up of one of the workload's placements.
	VerdictRunnerUp Verdict = "runner_up"
	// VerdictAllowed: the workload could run there, at a higher cost
	// than its runner-up, or (unplaceable workloads) not in a set of
	// enough distinct spread targets.
	VerdictAllowed Verdict = "allowed"
	// VerdictCapacityBlocked: compliant, but without room left for the
	// workload, or too small for it.
	VerdictCapacityBlocked Verdict = "capacity_blocked"
	// VerdictRejected: a deny placement rule fails there, or the solver
	// may not use it (a pin elsewhere, no price, hysteresis).
	VerdictRejected Verdict = "rejected"
)

// WorkloadExplanation is the full, per-target detail of one workload in a
// plan, which the plan document groups (Explanation.Rejected,
// Unplaceable.Targets). `meridian explain` and
// GET /api/v1/placements/{workload}/explain return it.
type WorkloadExplanation struct {
	PlanID   string `json:"plan_id"`
	Commit   string `json:"commit"`
	Workload string `json:"workload"`
	// Placements are the workload's placements in the plan, by target;
	// empty when it is unplaceable.
	Placements []ExplainedPlacement `json:"placements"`
	// Unplaceable is why no target could host the workload, when none
	// could.
	Unplaceable string `json:"unplaceable,omitempty"`
	// Targets are the declared targets, nearest first: by the monthly
	// cost of the workload there, then by name, unpriced ones last.
	Targets []TargetExplanation `json:"targets"`
}

// ExplainedPlacement is one placement of an explained workload.
type ExplainedPlacement struct {
	Target      string    `json:"target"`
	Replicas    int       `json:"replicas"`
	MonthlyCost Money     `json:"monthly_cost"`
	Reason      string    `json:"reason"`
	RunnerUp    *RunnerUp `json:"runner_up"`
}

// TargetExplanation is one target's line in a WorkloadExplanation.
type TargetExplanation struct {
	Target  string  `json:"target"`
	Verdict Verdict `json:"verdict"`
	// MonthlyCost is what the workload's replicas per target would cost
	// there a month, migration included; nil when the target has no
	// finite price for it.
	MonthlyCost *Money `json:"monthly_cost"`
	// Rules and Reasons say what holds the workload off the target: the
	// deny rules that fail there (also on a pinned target, where the pin
	// overrides them) or the solver's own reasons, as in RejectionGroup.
	Rules   []string `json:"rules"`
	Reasons []string `json:"reasons,omitempty"`
}
