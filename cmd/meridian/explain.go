package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

func newExplainCmd(a *app) *cobra.Command {
	var (
		rf       repoFlags
		sf       stateFlags
		target   string
		format   string
		planFrom string
	)
	cmd := &cobra.Command{
		Use:   "explain WORKLOAD --repo PATH|URL [--target T] [--plan FILE|ID] [--format text|json]",
		Short: "Show why a workload is placed where it is, target by target",
		Long: `explain lists every target for one workload of a plan: whether the plan
chose it, made it the runner-up, or could not use it, with the monthly cost
there and the rules and reasons, as the plan document groups them (its
"rejected" groups name only the nearest few targets).

The plan is made again from the repo, as "meridian plan" makes it (the
ledger in the store included), or read with --plan from a plan document
("meridian plan --format json --out FILE") or by ID from the store. Its
detail is recomputed from the config for this one workload; a plan that
was not made from the repo's config is refused.

Exit status: 0 explained; 1 on errors, such as an unknown workload or a
plan of another config.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if format != "text" && format != "json" {
				return &exitErr{code: exitError, err: fmt.Errorf("--format must be text or json, got %q", format)}
			}
			l, err := rf.load(ctx, a)
			if err != nil {
				return configExit(err)
			}
			p, err := planner.New(planner.WithLogger(a.logger))
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			plan, err := a.planToExplain(ctx, p, l, &rf, &sf, planFrom)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			ex, err := p.Explain(ctx, l.cfg, plan, args[0], target)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if format == "json" {
				return writeJSON(a.stdout, ex)
			}
			return report.Explanation(a.stdout, ex)
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringVar(&target, "target", "", "show this target only")
	cmd.Flags().StringVar(&planFrom, "plan", "", "explain this plan: a plan document (JSON) or the ID of a plan in the store (default: plan the repo again)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// planToExplain is the plan explain explains: read from --plan (a file, or
// an ID in the store), or made from the loaded repo as `meridian plan`
// makes it, without Terraform.
func (a *app) planToExplain(ctx context.Context, p *planner.Planner, l *loaded, rf *repoFlags, sf *stateFlags, from string) (*meridian.Plan, error) {
	var doc []byte
	switch b, err := os.ReadFile(from); {
	case from == "":
		tp, err := a.planTerraform(ctx, sf, &terraformFlags{mode: "false"}, l, rf.ref)
		if err != nil {
			return nil, err
		}
		defer tp.close()
		return p.Plan(ctx, l.input(tp.current))
	case err == nil:
		doc = b
	case errors.Is(err, fs.ErrNotExist):
		db, err := sf.openExisting(ctx)
		if err != nil {
			return nil, err
		}
		if db == nil {
			return nil, fmt.Errorf("--plan %s: no such file, and no store to find a plan by that ID in", from)
		}
		defer db.Close()
		rec, err := db.GetPlan(ctx, from)
		if err != nil {
			return nil, fmt.Errorf("--plan %s: no such file; %w", from, err)
		}
		doc = rec.Document
	default:
		return nil, fmt.Errorf("--plan: %w", err)
	}
	var plan meridian.Plan
	if err := json.Unmarshal(doc, &plan); err != nil {
		return nil, fmt.Errorf("--plan %s: not a plan document: %w", from, err)
	}
	return &plan, nil
}
