package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
)

func newPlanCmd(a *app) *cobra.Command {
	var (
		rf     repoFlags
		sf     stateFlags
		tff    terraformFlags
		format string
		out    string
		cf     compareFlags // --base/--head (serve issue): plan_compare.go
		tf     timingsFlag  // --timings: plan_timings.go
	)
	cmd := &cobra.Command{
		Use:   "plan --repo PATH|URL [--ref REF] [--format table|json|markdown] [--out FILE]",
		Short: "Check policy and place every workload on the cheapest compliant target",
		Long: `plan reads the config repo, evaluates the built-in and org policies,
prices every target, and places every workload on the cheapest compliant
target within capacity, explaining each choice.

Exit status: 0 when the plan has no blocking finding; 2 when a deny finding
or an unplaceable workload exists; 1 on errors such as an invalid repo.
With --format json, stdout holds exactly one JSON document, also on exit 2
and on errors ({"error": ...}).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cf.active() {
				return a.planCompare(cmd, &rf, &sf, &cf, format, out)
			}
			render, err := renderer(format)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			tm := newPlanTimings()
			plan, err := a.plan(cmd, &rf, &sf, &tff, tm)
			if err != nil {
				if format == "json" {
					writeJSONError(a.stdout, err)
				}
				if msg, ok := configErrorList(err); ok {
					return &exitErr{code: exitError, err: fmt.Errorf("%s", msg)}
				}
				return &exitErr{code: exitError, err: err}
			}
			// The document is streamed: at 10,000 workloads it is tens
			// of megabytes, which need not be held in memory.
			if out == "" {
				if err := render(a.stdout, plan); err != nil {
					return fmt.Errorf("render plan: %w", err)
				}
			} else if err := renderFile(out, render, plan); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			tm.Write = tm.lap()
			tf.print(a.stderr, tm)
			if plan.Blocking() {
				return &exitErr{code: exitBlocked}
			}
			return nil
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	tff.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json, markdown or sarif")
	cf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the plan to FILE instead of stdout")
	tf.register(cmd)
	cmd.Flags().Bool("save", false, "save the plan in the store for `meridian apply PLAN_ID` (default: when --repo is a Git repository; --save=false never)")
	registerPlanRetention(cmd.Flags(), &sf.planRetention)
	return cmd
}

func renderer(format string) (func(io.Writer, *meridian.Plan) error, error) {
	switch format {
	case "table":
		return report.Table, nil
	case "json":
		return report.JSON, nil
	case "markdown", "md":
		return report.Markdown, nil
	case "sarif":
		return report.SARIF, nil
	}
	return nil, fmt.Errorf("--format must be table, json, markdown or sarif, got %q", format)
}

// renderFile renders plan into the file path. The file holds the document;
// stdout gets nothing, as with --format json it would be the document
// again.
func renderFile(path string, render func(io.Writer, *meridian.Plan) error, plan *meridian.Plan) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render(f, plan); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plan loads the repo and runs the planner, recording its stages in tm.
func (a *app) plan(cmd *cobra.Command, rf *repoFlags, sf *stateFlags, tff *terraformFlags, tm *planTimings) (*meridian.Plan, error) {
	ctx := cmd.Context()
	l, err := rf.load(ctx, a)
	if err != nil {
		return nil, err
	}
	tm.Load = tm.lap()
	// Terraform's change summary (or a warn finding without a binary) and
	// the applied-state ledger; see store_flags.go.
	tp, err := a.planTerraform(ctx, sf, tff, l, rf.ref)
	if err != nil {
		return nil, err
	}
	tp.discard = l.snap.Commit == ""
	if f := cmd.Flags().Lookup("save"); f != nil && f.Changed {
		tp.discard = f.Value.String() != "true"
	}
	defer tp.close()
	// The deploy-repo diff an apply would commit; see moves.go.
	deployOpt, closeDeploy, err := a.deployPreview(ctx, sf)
	if err != nil {
		return nil, err
	}
	defer closeDeploy()
	p, err := planner.New(append([]planner.Option{planner.WithLogger(a.logger), deployOpt, planner.WithTracerProvider(a.tracerProvider())},
		tp.options()...)...)
	if err != nil {
		return nil, err
	}
	tm.Store = tm.lap() // the ledger, and opening what Terraform and the deploy preview need
	plan, err := p.Plan(planner.WithTimings(ctx, &tm.Timings), l.input(tp.current))
	if err != nil {
		return nil, err
	}
	tm.lap()
	err = tp.save(ctx, plan)
	tm.Store += tm.lap()
	return plan, err
}

// writeJSONError keeps the promise that --format json always prints one
// JSON document, listing config errors individually.
func writeJSONError(w io.Writer, err error) {
	type cfgErr struct {
		File    string `json:"file"`
		Line    int    `json:"line,omitempty"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	}
	doc := struct {
		Error        string   `json:"error"`
		Code         string   `json:"code"`
		ConfigErrors []cfgErr `json:"config_errors,omitempty"`
	}{Error: err.Error(), Code: meridian.ErrorCode(err)}
	var ces meridian.ConfigErrors
	if errors.As(err, &ces) {
		doc.Code = meridian.EINVALID
		for _, e := range ces {
			doc.ConfigErrors = append(doc.ConfigErrors, cfgErr(e))
		}
	}
	_ = writeJSON(w, doc)
}
