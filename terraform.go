package meridian

// TerraformModule is a target's Terraform root module in the config repo.
type TerraformModule struct {
	// Module is the module's folder, relative to the config root.
	Module string `json:"module"`
	// BackendConfig is passed to `terraform init` as -backend-config
	// key=value pairs, e.g. the bucket and key of an S3 backend.
	BackendConfig map[string]string `json:"backend_config,omitempty"`
	// Vars are extra input variables, written next to the placements in
	// meridian.auto.tfvars.json. Values are strings; Terraform converts them
	// to the variable's declared type.
	Vars map[string]string `json:"vars,omitempty"`
}

// Statuses of a TargetChange.
const (
	// ChangeStatusChanges means Terraform plans to change resources.
	ChangeStatusChanges = "changes"
	// ChangeStatusNoChanges means the target's infrastructure matches.
	ChangeStatusNoChanges = "no_changes"
	// ChangeStatusFailed means Terraform could not plan the target.
	ChangeStatusFailed = "failed"
	// ChangeStatusSkipped means the target was not planned (its lock was
	// held by another run).
	ChangeStatusSkipped = "skipped"
)

// TargetChange is what Terraform would do on one target to apply a plan.
// Each resource address appears in exactly one of Add, Change, Replace and
// Destroy; Terraform's own "to add" count is Add plus Replace.
type TargetChange struct {
	Target string `json:"target"`
	Module string `json:"module"`
	// Status is one of the ChangeStatus constants.
	Status  string   `json:"status"`
	Add     []string `json:"add"`
	Change  []string `json:"change"`
	Replace []string `json:"replace"`
	Destroy []string `json:"destroy"`
	// Outputs lists the root outputs the apply would change; a plan that
	// changes only outputs still has Status "changes".
	Outputs []string `json:"outputs,omitempty"`
	// StateSerial is the serial of the target's Terraform state the plan
	// was made against; applying refuses when it has moved.
	StateSerial int64 `json:"state_serial"`
	// Frozen lists workloads held at their applied replicas because of a
	// blocking finding.
	Frozen []Frozen `json:"frozen,omitempty"`
	// Error says why the target could not be planned or was skipped.
	Error string `json:"error,omitempty"`
	// Decommission marks a destroy plan of a target that left the config
	// (or Terraform): applying it destroys everything in the target's
	// workspace and removes the target from the ledger.
	Decommission bool `json:"decommission,omitempty"`
}

// HasChanges reports whether applying the target would change anything.
func (c TargetChange) HasChanges() bool { return c.Status == ChangeStatusChanges }

// Frozen is a workload whose blocking finding freezes it on a target at the
// replicas it runs with now: apply may not scale it out or move it until
// the finding is fixed.
type Frozen struct {
	Workload string `json:"workload"`
	// Replicas is what the target keeps running (0: not started there).
	Replicas int `json:"replicas"`
	// Planned is what the plan would have run without the freeze.
	Planned int `json:"planned"`
}
