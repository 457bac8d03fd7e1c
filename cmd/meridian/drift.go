package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func newDriftCmd(a *app) *cobra.Command {
	var (
		rf     repoFlags
		sf     stateFlags
		tff    terraformFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "drift --repo PATH|URL [--format table|json]",
		Short: "Report what changed outside Meridian since it applied each target",
		Long: `drift checks every target Meridian has applied for the repo against what it
applied there, and records what it finds in the store:

  - the Terraform state was written outside Meridian (its serial moved);
  - a refresh-only plan (Terraform's detailed exit code) finds resources
    changed outside Terraform;
  - a plan of the last applied module and variables would change resources
    to restore them.

Each finding names the kind (terraform), target, workload (when the
resource is keyed by a workload name), resource address and detail.

Exit status: 0 no drift; 2 drift found; 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return &exitErr{code: exitError, err: fmt.Errorf("--format must be table or json, got %q", format)}
			}
			ctx := cmd.Context()
			l, err := rf.load(ctx, a)
			if err != nil {
				return applyExit(err)
			}
			src, err := source(l, rf.ref)
			if err != nil {
				return err
			}
			wf, db, err := a.openWorkflow(ctx, &sf, &tff)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			sess, err := wf.Begin(ctx, store.RunDrift, src, workflow.ModeApply)
			if err != nil {
				return err
			}
			rep, err := sess.Drift(ctx)
			sess.Close(err, rep)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if format == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				writeDrift(a.stdout, src.Source, rep)
			}
			switch {
			case rep.Errored():
				return &exitErr{code: exitError}
			case rep.Drifted():
				return &exitErr{code: exitBlocked}
			}
			return nil
		},
	}
	rf.register(cmd)
	sf.register(cmd)
	tff.register(cmd, false)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func writeDrift(w io.Writer, repo string, rep *workflow.DriftReport) {
	fmt.Fprintf(w, "Drift of %s (run %s): %d applied target(s) checked\n\n", repo, rep.RunID, len(rep.Targets))
	if len(rep.Targets) == 0 {
		fmt.Fprintln(w, "Nothing applied yet: run meridian apply first.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tRESULT\tAPPLIED PLAN")
	for _, t := range rep.Targets {
		res := "clean"
		switch {
		case t.Error != "":
			res = "ERROR: " + firstLine(t.Error)
		case t.Drifted:
			res = fmt.Sprintf("DRIFTED (%d)", len(t.Items))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Target, res, t.PlanID)
	}
	tw.Flush()
	for _, t := range rep.Targets {
		if len(t.Items) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", t.Target)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, it := range t.Items {
			addr, wl := it.Address, it.Workload
			if addr == "" {
				addr = "(state)"
			}
			if wl == "" {
				wl = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", it.Action, addr, wl, it.Detail)
		}
		tw.Flush()
	}
}
