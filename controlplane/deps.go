package controlplane

import (
	"context"
	"io/fs"

	"github.com/meridianhq/meridian"
)

// Snapshot is the config repo read at one commit.
type Snapshot struct {
	// Source names the repo: the URL without credentials, or the directory.
	Source string
	// Ref is the ref as resolved: a branch name, or a SHA.
	Ref    string
	Commit string
	Dirty  bool
	Config *meridian.Config
	// FS is the config root, for load history files and Terraform modules.
	FS fs.FS
}

// Loader reads the config repo. Implementations fetch what is new and must
// be safe for concurrent use.
type Loader interface {
	// Load reads the repo at ref: a branch, tag, full ref name (such as
	// refs/pull/7/head) or commit SHA. Config errors come back as
	// meridian.ConfigErrors.
	Load(ctx context.Context, ref string) (*Snapshot, error)
	// Ping checks that the repo can be reached, for /readyz.
	Ping(ctx context.Context) error
}

// TerraformMode says whether, and with whose credentials, a plan runs
// Terraform, whose modules can run arbitrary code.
type TerraformMode int

// Terraform modes.
const (
	// TerraformOff plans placement and policy only.
	TerraformOff TerraformMode = iota
	// TerraformUntrusted plans with the runner for pull requests, whose
	// environment holds no apply credentials. Only heads from allowlisted
	// repositories get it.
	TerraformUntrusted
	// TerraformTrusted plans with the server's own environment: for
	// commits of the watched branch only.
	TerraformTrusted
)

// PlanInput is one plan to make.
type PlanInput struct {
	Snapshot *Snapshot
	// Config is what to plan: Snapshot.Config, or for a pull request the
	// head's config judged by the base's policies (meridian.ReviewConfig).
	Config *meridian.Config
	// Current is the applied-state ledger: workload -> targets.
	Current map[string][]string
	// Live are the open live findings the plan holds workloads by
	// (planner.Input.Live); only plans of the tracked branch get them.
	Live      []meridian.Finding
	Terraform TerraformMode
	// Save records the plan and its run in the store. Previews (a pull
	// request's own policies) are not saved.
	Save  bool
	Actor string
}

// PlanOutput is a finished plan.
type PlanOutput struct {
	Plan *meridian.Plan
	// RunID is the run that recorded the plan (empty when not saved).
	RunID string
}

// Planner makes plans. The server's is WorkflowPlanner (planner.Planner
// plus the Terraform workflow); tests use controlplanetest.Planner.
type Planner interface {
	// Plan plans in.Config. Errors are for plans that could not be made
	// at all; policy problems are findings in the plan.
	Plan(ctx context.Context, in PlanInput) (*PlanOutput, error)
}

// Apply statuses.
const (
	ApplySucceeded = "succeeded"
	// ApplyFailed means at least one target failed; the others were
	// applied, and the detail says which.
	ApplyFailed = "failed"
)

// ApplyOutput is what an apply did.
type ApplyOutput struct {
	RunID string `json:"run_id"`
	// Status is ApplySucceeded or ApplyFailed.
	Status string `json:"status"`
	// Detail is the applier's per-target result.
	Detail any `json:"detail,omitempty"`
}

// Applier applies saved plans.
type Applier interface {
	// Apply applies exactly the saved plan planID on behalf of actor,
	// holding the target locks in the store while it runs. It refuses a
	// stale plan with an ECONFLICT error. Cancelling ctx interrupts it
	// safely: locks are released and the run is recorded as interrupted.
	Apply(ctx context.Context, planID, actor string) (*ApplyOutput, error)
}

// DriftOutput is what a drift check found.
type DriftOutput struct {
	RunID string `json:"run_id"`
	// Drifted counts the open drift records by target after the check
	// (drift of no target under its engine's name); every checked target
	// has an entry, zero when it matches.
	Drifted map[string]int `json:"drifted"`
	// Events are the drift.opened and drift.cleared events the check
	// wrote.
	Events []meridian.Event `json:"events,omitempty"`
	// Errors lists targets that could not be checked.
	Errors []string `json:"errors,omitempty"`
}

// DriftChecker compares what runs with what Meridian applied, and records
// what differs in the store.
type DriftChecker interface {
	CheckDrift(ctx context.Context, actor string) (*DriftOutput, error)
}

// Disabled is an Applier and DriftChecker for servers that cannot apply:
// every call fails with Reason.
type Disabled struct {
	Reason string
}

// Apply implements Applier.
func (d Disabled) Apply(context.Context, string, string) (*ApplyOutput, error) {
	return nil, meridian.Errorf(meridian.EUNAVAILABLE, "apply is not available: %s", d.Reason)
}

// CheckDrift implements DriftChecker.
func (d Disabled) CheckDrift(context.Context, string) (*DriftOutput, error) {
	return nil, meridian.Errorf(meridian.EUNAVAILABLE, "drift checks are not available: %s", d.Reason)
}
