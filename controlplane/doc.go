// Package controlplane is Meridian's GitOps control loop and the
// operations it shares with the CLI.
//
// The Reconciler keeps the store in step with a watched branch: it plans
// every new commit (polling, or at once when asked through Sync), applies
// it when meridian.yaml says auto_apply, checks drift on a schedule, and
// reviews pull requests (ReviewPR: the head judged by the base's
// policies, one comment and one commit status). It is what package web's
// handlers call; it knows nothing of HTTP.
//
// The operations are the CLI's own: ApplySavedPlan is `meridian apply
// PLAN_ID`, CheckDrift is `meridian drift`, Compare is the core of
// `meridian plan --base --head`. The server reaches them through the
// Loader, Planner, Applier and DriftChecker interfaces, which GitLoader,
// WorkflowPlanner, WorkflowApplier and WorkflowDrift implement on gitops,
// planner and the Terraform workflow; tests use the in-memory fakes of
// controlplanetest.
//
// Metrics registers the loop's Prometheus metrics on the registry the
// server exposes on /metrics.
package controlplane
