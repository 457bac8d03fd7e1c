package controlplane

import (
	"context"
	"fmt"
	"slices"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// DriftStore is where a drift check keeps its drift records: the part of
// store.DriftRecords it uses. store/sqlite and controlplanetest.Store
// implement it.
type DriftStore interface {
	SyncDrift(ctx context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error)
	OpenDrift(ctx context.Context, repoID string) ([]meridian.DriftRecord, error)
}

// DriftOutcome is the drift report: Terraform's, target by target (the
// embedded report's fields are the top level of the JSON), the GitOps
// output's, and what the check changed in the drift records.
type DriftOutcome struct {
	*workflow.DriftReport
	Deploy *DeployDrift `json:"deploy"`
	// Crossplane is what the clusters of targets with crossplane.cluster
	// hold against Meridian's last deploy commit.
	Crossplane *deploy.CrossplaneReport `json:"crossplane"`
	// Engines are the engines the check covered: an engine whose check
	// failed is left out, and its open records stay as they were.
	Engines []meridian.DriftEngine `json:"engines"`
	// Events are the drift.opened and drift.cleared events the check
	// wrote, with their IDs.
	Events []meridian.Event `json:"events"`
	// Open is the repo's open drift after the check, of every engine.
	Open []meridian.DriftRecord `json:"open"`
}

// Drifted reports whether anything drifted: exit status 2 of `meridian
// drift`.
func (o *DriftOutcome) Drifted() bool {
	return o.DriftReport.Drifted() || o.Deploy.Drifted || len(o.Crossplane.Items) > 0
}

// Errored reports whether something could not be checked: exit status 1.
func (o *DriftOutcome) Errored() bool {
	return o.DriftReport.Errored() || o.Deploy.Error != "" || o.Crossplane.Error != "" || len(o.Crossplane.Failed) > 0
}

// DeployDrift is the GitOps output's drift: deploy-repo files changed
// behind Meridian's back, and Argo CD Applications out of sync or unhealthy.
type DeployDrift struct {
	Drifted bool                   `json:"drifted"`
	Items   []meridian.DriftRecord `json:"items"`
	Error   string                 `json:"error,omitempty"`
}

// CheckDrift is `meridian drift`, for the CLI and the server alike: a
// drift run in the store checking every applied Terraform target, then the
// deploy repo and Argo CD, then the Crossplane resources of targets with
// crossplane.cluster, and one sync of the repo's drift records
// (store.DriftRecords.SyncDrift) with what it found. A nil cfg (a config
// that does not parse) still gets the Terraform check; the deploy check
// reports why it was skipped.
//
// Only the engines actually checked are synced, so that a failure to look
// never reads as "the drift is gone": a deploy check that failed leaves the
// deploy-repo and Argo CD records open, and a Terraform or Crossplane target
// whose check failed keeps its records as they were while the other
// targets' are opened, refreshed and cleared.
func CheckDrift(ctx context.Context, wf *workflow.Workflow, st DriftStore, dopts deploy.Options, cfg *meridian.Config, src workflow.Source) (out *DriftOutcome, err error) {
	sess, err := wf.Begin(ctx, store.RunDrift, src, workflow.ModeApply)
	if err != nil {
		return nil, err
	}
	defer func() { sess.Close(err, out) }()
	rep, err := sess.Drift(ctx)
	if err != nil {
		return nil, err
	}
	out = &DriftOutcome{DriftReport: rep, Deploy: driftDeploy(ctx, dopts, cfg), Crossplane: driftCrossplane(ctx, dopts, cfg)}
	// The check is done: record it even if the caller gave up meanwhile,
	// or the drift found would be lost.
	rctx := context.WithoutCancel(ctx)
	repoID := src.RepoID()
	engines, current, err := driftCurrent(rctx, st, repoID, out)
	if err != nil {
		return nil, err
	}
	out.Engines = engines
	if len(engines) > 0 {
		if out.Events, err = st.SyncDrift(rctx, repoID, engines, current); err != nil {
			return nil, fmt.Errorf("record drift: %w", err)
		}
	}
	if out.Open, err = st.OpenDrift(rctx, repoID); err != nil {
		return nil, fmt.Errorf("read open drift: %w", err)
	}
	if out.Events == nil {
		out.Events = []meridian.Event{}
	}
	return out, nil
}

// driftCurrent lists the engines a check covered and the drift to sync
// for them: what was found, plus the open Terraform and Crossplane records
// of targets that could not be checked, carried over unchanged.
func driftCurrent(ctx context.Context, st DriftStore, repoID string, out *DriftOutcome) ([]meridian.DriftEngine, []meridian.DriftRecord, error) {
	var engines []meridian.DriftEngine
	var current []meridian.DriftRecord
	var open []meridian.DriftRecord
	// carry keeps the open records of engine e on targets that could not
	// be checked.
	carry := func(e meridian.DriftEngine, failed func(target string) bool) error {
		if open == nil {
			var err error
			if open, err = st.OpenDrift(ctx, repoID); err != nil {
				return fmt.Errorf("read open drift: %w", err)
			}
		}
		for _, d := range open {
			if d.Engine == e && failed(d.Target) {
				current = append(current, d)
			}
		}
		return nil
	}
	var failed []string
	for _, t := range out.Targets {
		if t.Error != "" {
			failed = append(failed, t.Target)
			continue
		}
		current = append(current, t.Items...)
	}
	// With no target checked at all, Terraform was not looked at; with no
	// target applied, there is no Terraform drift left to see.
	if len(failed) < len(out.Targets) || len(out.Targets) == 0 {
		engines = append(engines, meridian.DriftEngineTerraform)
		if len(failed) > 0 {
			if err := carry(meridian.DriftEngineTerraform, func(t string) bool { return slices.Contains(failed, t) }); err != nil {
				return nil, nil, err
			}
		}
	}
	// The deploy check reads the deploy repo and Argo CD together: when it
	// succeeds, both are checked (without argocd.server Meridian expects
	// nothing of Argo CD, so none of its drift is left).
	if out.Deploy.Error == "" {
		engines = append(engines, meridian.DriftEngineDeployRepo, meridian.DriftEngineArgoCD)
		current = append(current, out.Deploy.Items...)
	}
	// Crossplane is checked target by target: a target whose cluster could
	// not be read keeps its records.
	if x := out.Crossplane; x.Error == "" {
		engines = append(engines, meridian.DriftEngineCrossplane)
		current = append(current, x.Items...)
		if len(x.Failed) > 0 {
			if err := carry(meridian.DriftEngineCrossplane, func(t string) bool { _, ok := x.Failed[t]; return ok }); err != nil {
				return nil, nil, err
			}
		}
	}
	return engines, current, nil
}

// driftCrossplane reads back the Crossplane resources. A nil cfg skips the
// check with an error.
func driftCrossplane(ctx context.Context, opts deploy.Options, cfg *meridian.Config) *deploy.CrossplaneReport {
	if cfg == nil {
		return &deploy.CrossplaneReport{Items: []meridian.DriftRecord{}, Checked: []string{},
			Error: "the config does not parse, so the Crossplane resources were not checked"}
	}
	r, err := deploy.CrossplaneDrift(ctx, cfg, opts)
	if err != nil {
		return &deploy.CrossplaneReport{Items: []meridian.DriftRecord{}, Checked: []string{}, Error: err.Error()}
	}
	return r
}

// driftDeploy checks the deploy repo (and Argo CD). A nil cfg (a config
// that does not parse) skips the check with an error.
func driftDeploy(ctx context.Context, opts deploy.Options, cfg *meridian.Config) *DeployDrift {
	out := &DeployDrift{Items: []meridian.DriftRecord{}}
	if cfg == nil {
		out.Error = "the config does not parse, so the deploy repo was not checked"
		return out
	}
	ds, err := deploy.Drift(ctx, cfg, opts)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Items = append(out.Items, ds...)
	out.Drifted = len(out.Items) > 0
	return out
}
