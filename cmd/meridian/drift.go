package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
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
applied there, and keeps what it finds as drift records in the store:

  - the Terraform state was written outside Meridian (its serial moved);
  - a refresh-only plan (Terraform's detailed exit code) finds resources
    changed outside Terraform;
  - a plan of the last applied module and variables would change resources
    to restore them.

It also checks the GitOps output: files below deploy.path that differ
from Meridian's last commit on the deploy branch (kind deploy-repo: hand
edits, added or removed files) and, with argocd.server, Applications Argo
CD does not have or reports OutOfSync or not Healthy (kind argocd).

For engine: crossplane targets with crossplane.cluster, it reads the
managed resources of Meridian's last deploy commit back from that cluster,
by Meridian's labels (kind crossplane): Synced=False with the provider's
error, not Ready for longer than crossplane.cluster.ready_grace, deleted
out of band, or a field Meridian rendered changed out of band (fields the
API server or the provider set are ignored).

Each finding names the engine (terraform, deploy-repo, argocd or
crossplane), target,
workload (when the resource belongs to one), resource (Terraform address,
deploy repo file or Kubernetes resource), and what Meridian applied
(expected) against what runs (actual), sensitive values redacted. A
record opens when a check first sees a difference, keeps its first seen
while later checks see it, and clears at the first check that no longer
does; an engine or target that could not be checked keeps its records
open. GET /api/v1/drift lists the records.

Exit status: 0 no drift; 2 drift found; 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
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
			dopts, err := a.deployOptions(&sf, nil)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			out, err := controlplane.CheckDrift(ctx, wf, db, dopts, l.cfg, src)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			rep := out.DriftReport
			if format == "json" {
				if err := writeJSON(a.stdout, out); err != nil {
					return err
				}
			} else {
				writeDrift(a.stdout, src.Source, rep)
				writeDeployDrift(a.stdout, out.Deploy)
				writeCrossplaneDrift(a.stdout, out.Crossplane)
				writeDriftRecords(a.stdout, out)
			}
			switch {
			case out.Errored():
				return &exitErr{code: exitError}
			case out.Drifted():
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
		fmt.Fprintln(w, "No Terraform target applied yet.")
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
			addr := it.Resource
			if addr == "" {
				addr = "(state)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", it.Action, addr, dashIfEmpty(it.Workload), expectedActual(it))
		}
		tw.Flush()
	}
}

func writeDeployDrift(w io.Writer, d *controlplane.DeployDrift) {
	switch {
	case d.Error != "":
		fmt.Fprintf(w, "\nDeploy repo: ERROR: %s\n", firstLine(d.Error))
		return
	case !d.Drifted:
		fmt.Fprintln(w, "\nDeploy repo: clean")
		return
	}
	fmt.Fprintf(w, "\nDeploy repo: DRIFTED (%d)\n", len(d.Items))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range d.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", it.Engine, it.Action, it.Resource, dashIfEmpty(it.Workload), expectedActual(it))
	}
	tw.Flush()
}

func writeCrossplaneDrift(w io.Writer, x *deploy.CrossplaneReport) {
	switch {
	case x.Error != "":
		fmt.Fprintf(w, "\nCrossplane: ERROR: %s\n", firstLine(x.Error))
		return
	case len(x.Checked) == 0 && len(x.Failed) == 0:
		fmt.Fprintln(w, "\nCrossplane: no target with crossplane.cluster")
		return
	}
	res := "clean"
	if len(x.Items) > 0 {
		res = fmt.Sprintf("DRIFTED (%d)", len(x.Items))
	}
	fmt.Fprintf(w, "\nCrossplane: %s, %d target(s) read\n", res, len(x.Checked))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range slices.Sorted(maps.Keys(x.Failed)) {
		fmt.Fprintf(tw, "  %s\tERROR: %s\n", t, firstLine(x.Failed[t]))
	}
	for _, it := range x.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", it.Action, it.Resource, dashIfEmpty(it.Workload), expectedActual(it))
	}
	tw.Flush()
}

// expectedActual is a drift record's difference in one line.
func expectedActual(d meridian.DriftRecord) string {
	return fmt.Sprintf("expected %s, actual %s", dashIfEmpty(d.Expected), dashIfEmpty(d.Actual))
}

// writeDriftRecords says what the check changed in the drift records.
func writeDriftRecords(w io.Writer, out *controlplane.DriftOutcome) {
	var opened, cleared int
	for _, ev := range out.Events {
		switch ev.Type {
		case meridian.EventDriftOpened:
			opened++
		case meridian.EventDriftCleared:
			cleared++
		}
	}
	fmt.Fprintf(w, "\nDrift records: %d opened, %d cleared, %d open\n", opened, cleared, len(out.Open))
}
