// Package web is the HTTP face of Meridian's control plane: a chi router
// serving the authenticated JSON API under /api/v1, the GitHub webhook
// (signature checks, decoding, delivery records), health checks and
// Prometheus metrics. It turns requests into calls on a
// controlplane.Reconciler (Sync, ReviewPR, PlanRef, Apply, State) and
// their results into JSON; it plans, applies and checks drift only
// through it.
//
// Handlers read a small Store interface, defined here, so that the package
// is tested with in-memory fakes (see controlplane/controlplanetest)
// without the policy engine or Terraform.
//
// Files are one per resource (plans.go, locks.go, ...), with handlers named
// handle<Resource><Verb>.
package web
