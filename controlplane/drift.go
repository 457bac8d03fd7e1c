package controlplane

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// DriftOutcome is the drift report: Terraform's, target by target (the
// embedded report's fields are the top level of the JSON), and the GitOps
// output's.
type DriftOutcome struct {
	*workflow.DriftReport
	Deploy *DeployDrift `json:"deploy"`
}

// Drifted reports whether anything drifted: exit status 2 of `meridian
// drift`.
func (o *DriftOutcome) Drifted() bool { return o.DriftReport.Drifted() || o.Deploy.Drifted }

// Errored reports whether something could not be checked: exit status 1.
func (o *DriftOutcome) Errored() bool { return o.DriftReport.Errored() || o.Deploy.Error != "" }

// DeployDrift is the GitOps output's drift: deploy-repo files changed
// behind Meridian's back, and Argo CD Applications out of sync or unhealthy.
type DeployDrift struct {
	Drifted bool                     `json:"drifted"`
	Items   []store.DriftObservation `json:"items"`
	Error   string                   `json:"error,omitempty"`
}

// CheckDrift is `meridian drift`, for the CLI and the server alike: a
// drift run in the store checking every applied Terraform target, then the
// deploy repo and Argo CD, all recorded under the run. A nil cfg (a config
// that does not parse) still gets the Terraform check; the deploy check
// reports why it was skipped.
func CheckDrift(ctx context.Context, wf *workflow.Workflow, st store.Drift, dopts deploy.Options, cfg *meridian.Config, src workflow.Source) (out *DriftOutcome, err error) {
	sess, err := wf.Begin(ctx, store.RunDrift, src, workflow.ModeApply)
	if err != nil {
		return nil, err
	}
	defer func() { sess.Close(err, out) }()
	rep, err := sess.Drift(ctx)
	if err != nil {
		return nil, err
	}
	return &DriftOutcome{DriftReport: rep, Deploy: driftDeploy(ctx, st, dopts, cfg, src.RepoID(), rep.RunID)}, nil
}

// driftDeploy checks the deploy repo (and Argo CD) and records what it
// finds with the drift run's Terraform observations. A nil cfg (a config
// that does not parse) skips the check with an error.
func driftDeploy(ctx context.Context, st store.Drift, opts deploy.Options, cfg *meridian.Config, repoID, runID string) *DeployDrift {
	out := &DeployDrift{Items: []store.DriftObservation{}}
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
