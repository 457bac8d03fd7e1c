package planner

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/meridianhq/meridian"
)

// RuleNoTerraform is the finding for a plan made without a Terraform
// binary while the repo has Terraform targets.
const RuleNoTerraform = "MER-TF-001"

// TerraformPlanner adds Terraform's view to a plan: for each Terraform
// target it prepares the workspace from the placements, runs terraform
// plan and records the change summary in plan.Terraform. It may add
// findings, and it folds Terraform's inputs (module files, variables,
// state serials) into plan.ID, so that the ID names exactly what would be
// applied. One target's failure must become that target's status and a
// finding, not an error; errors are for the plan as a whole (e.g. a
// target lock held during an apply).
type TerraformPlanner interface {
	PlanTerraform(ctx context.Context, cfg *meridian.Config, fsys fs.FS, plan *meridian.Plan) error
}

// WithTerraform makes Plan run tp after placement. Without it, a plan has
// no Terraform section and needs no binary.
func WithTerraform(tp TerraformPlanner) Option { return func(p *Planner) { p.terraform = tp } }

// NoTerraform is the TerraformPlanner of a machine without a binary: the
// plan stays usable and says, in a warn finding, what it lacks.
type NoTerraform struct {
	// Reason says why there is no binary (shown in the finding).
	Reason string
}

// PlanTerraform implements TerraformPlanner.
func (n NoTerraform) PlanTerraform(_ context.Context, cfg *meridian.Config, _ fs.FS, plan *meridian.Plan) error {
	var names []string
	for _, t := range cfg.Targets {
		if t.Engine == meridian.EngineTerraform && t.Terraform != nil {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	plan.Findings = append(plan.Findings, meridian.Finding{
		Rule: RuleNoTerraform, Severity: meridian.SeverityWarn,
		Message: fmt.Sprintf("no Terraform change summary for %d Terraform target(s): %s", len(names), n.Reason),
		Remediation: "install a binary (scripts/install-terraform.sh) and pass --terraform-bin or set MERIDIAN_TERRAFORM; " +
			"apply needs one",
	})
	return nil
}

// planTerraform runs the Terraform stage, if any, on a finished plan.
func (p *Planner) planTerraform(ctx context.Context, in *Input, plan *meridian.Plan) error {
	if p.terraform == nil {
		return nil
	}
	if err := p.terraform.PlanTerraform(ctx, in.Config, in.FS, plan); err != nil {
		return fmt.Errorf("terraform: %w", err)
	}
	sortFindings(plan.Findings)
	return nil
}
