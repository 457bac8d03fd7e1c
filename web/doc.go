// Package web is Meridian's control-plane server: a chi router serving the
// authenticated JSON API under /api/v1, the GitHub webhook, health checks
// and Prometheus metrics, and the Reconciler that plans every new commit of
// the watched branch, applies it when configured, checks drift on a
// schedule and reports on pull requests.
//
// The package depends on small interfaces, defined where they are used
// (Store, Loader, Planner, Applier, DriftChecker, GitHub), so that it can be
// tested with in-memory fakes (see webtest) and so that it does not pull in
// the policy engine: cmd/meridian wires the real planner, store and
// Terraform workflow in.
//
// Files are one per resource (plans.go, locks.go, ...), with handlers named
// handle<Resource><Verb>.
package web
