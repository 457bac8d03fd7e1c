package controlplane

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

// CompareOptions names the two sides of a comparison.
type CompareOptions struct {
	// BaseName and HeadName are the refs as given, for the title and
	// "before" line of the report.
	BaseName, HeadName string
	// BaseLabel and HeadLabel name the sides in errors (default "base"
	// and "head"; the CLI says "--base main").
	BaseLabel, HeadLabel string
	// BlobURL is the URL prefix of files at the head commit, for links.
	BlobURL string
	// TerraformSkipped says why the comparison has no Terraform plans.
	TerraformSkipped string
}

// Compare plans head against base the way a pull request is reviewed: the
// head's config judged by the base's policies, a preview of the head's own
// policies when it changes them, and the base's plan as "before". pl plans
// both sides, so the caller decides whether Terraform runs (for changes
// nobody reviewed yet, it must not: their modules can run code). An error
// means a side could not be planned at all; a preview that fails is a
// warning finding in the report.
func Compare(ctx context.Context, pl *planner.Planner, base, head *Snapshot, o CompareOptions) (*report.Comparison, error) {
	if o.BaseLabel == "" {
		o.BaseLabel = "base"
	}
	if o.HeadLabel == "" {
		o.HeadLabel = "head"
	}
	input := func(s *Snapshot, cfg *meridian.Config) planner.Input {
		return planner.Input{Config: cfg, FS: s.FS, Repo: s.Source, Commit: s.Commit, Dirty: s.Dirty}
	}
	cfg, policyChanged := meridian.ReviewConfig(base.Config, head.Config)
	after, err := pl.Plan(ctx, input(head, cfg))
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", o.HeadLabel, err)
	}
	before, err := pl.Plan(ctx, input(base, base.Config))
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", o.BaseLabel, err)
	}
	c := &report.Comparison{
		Title:            fmt.Sprintf("`%s` → `%s`", o.HeadName, o.BaseName),
		Before:           before,
		BeforeSource:     fmt.Sprintf("plan of base `%s` @ `%s`", o.BaseName, short(base.Commit)),
		After:            after,
		PolicyChanged:    policyChanged,
		BlobURL:          o.BlobURL,
		TerraformSkipped: o.TerraformSkipped,
	}
	if policyChanged {
		preview, err := pl.Plan(ctx, input(head, meridian.PreviewConfig(base.Config, head.Config)))
		if err != nil {
			c.Preview = []meridian.Finding{{Rule: "MER-POLICY-PREVIEW", Severity: meridian.SeverityWarn,
				Message: "the head's policies could not be evaluated: " + err.Error()}}
		} else {
			c.Preview = preview.Findings
		}
	}
	return c, nil
}
