package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
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

It also checks the GitOps output: files below deploy.path that differ
from Meridian's last commit on the deploy branch (kind deploy-repo: hand
edits, added or removed files) and, with argocd.server, Applications Argo
CD does not have or reports OutOfSync or not Healthy (kind argocd).

Each finding names the kind (terraform, deploy-repo or argocd), target,
workload (when the resource belongs to one), resource (Terraform address,
deploy repo file or Kubernetes resource) and detail.

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
			out, err := checkDrift(ctx, wf, db, dopts, l.cfg, src)
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

// driftOutcome is the drift report: Terraform's, target by target (the
// embedded report's fields are the top level of the JSON), and the GitOps
// output's.
type driftOutcome struct {
	*workflow.DriftReport
	Deploy *deployDrift `json:"deploy"`
}

// Drifted reports whether anything drifted: exit status 2.
func (o *driftOutcome) Drifted() bool { return o.DriftReport.Drifted() || o.Deploy.Drifted }

// Errored reports whether something could not be checked: exit status 1.
func (o *driftOutcome) Errored() bool { return o.DriftReport.Errored() || o.Deploy.Error != "" }

// deployDrift is the GitOps output's drift: deploy-repo files changed
// behind Meridian's back, and Argo CD Applications out of sync or unhealthy.
type deployDrift struct {
	Drifted bool                     `json:"drifted"`
	Items   []store.DriftObservation `json:"items"`
	Error   string                   `json:"error,omitempty"`
}

// checkDrift is `meridian drift`, for the CLI and the server alike: a
// drift run in the store checking every applied Terraform target, then the
// deploy repo and Argo CD, all recorded under the run.
func checkDrift(ctx context.Context, wf *workflow.Workflow, st store.Drift, dopts deploy.Options, cfg *meridian.Config, src workflow.Source) (out *driftOutcome, err error) {
	sess, err := wf.Begin(ctx, store.RunDrift, src, workflow.ModeApply)
	if err != nil {
		return nil, err
	}
	defer func() { sess.Close(err, out) }()
	rep, err := sess.Drift(ctx)
	if err != nil {
		return nil, err
	}
	return &driftOutcome{DriftReport: rep, Deploy: driftDeploy(ctx, st, dopts, cfg, src.RepoID(), rep.RunID)}, nil
}

// driftDeploy checks the deploy repo (and Argo CD) and records what it
// finds with the drift run's Terraform observations. A nil cfg (a config
// that does not parse) skips the check with an error.
func driftDeploy(ctx context.Context, st store.Drift, opts deploy.Options, cfg *meridian.Config, repoID, runID string) *deployDrift {
	out := &deployDrift{Items: []store.DriftObservation{}}
	if cfg == nil {
		out.Error = "the config does not parse, so the deploy repo was not checked"
		return out
	}
	ds, err := deploy.Drift(ctx, cfg, opts)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for _, d := range ds {
		out.Items = append(out.Items, store.DriftObservation{RepoID: repoID, RunID: runID, Kind: d.Kind, Target: d.Target,
			Workload: d.Workload, Address: d.Resource, Action: d.Action, Detail: d.Detail})
	}
	out.Drifted = len(out.Items) > 0
	if out.Drifted {
		if err := st.RecordDrift(context.WithoutCancel(ctx), out.Items); err != nil {
			out.Error = fmt.Sprintf("record drift: %v", err)
		}
	}
	return out
}

func writeDeployDrift(w io.Writer, d *deployDrift) {
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", it.Kind, it.Action, it.Address, dashIfEmpty(it.Workload), it.Detail)
	}
	tw.Flush()
}
