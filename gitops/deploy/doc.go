// Package deploy writes Meridian's placement decisions to a deploy
// repository the GitOps way, for Argo CD and Crossplane to carry out.
//
// Render turns a plan into a deploy tree: one Argo CD Application per
// (workload, target) placement, one root app-of-apps Application, and for
// targets with engine: crossplane the workload's cloud resources as
// Crossplane v2 namespaced managed resources of the upjet providers (or one
// composite resource of the user's own XRD). Rendering is deterministic:
// the same plan and config give byte-identical files, so re-applying an
// unchanged plan makes no commit. The plan ID goes into the commit message,
// never into the files.
//
// Apply commits the tree to the deploy repository with go-git and pushes it.
// A workload that moves from target A to target B moves make-before-break:
// the first commit adds B and keeps A; only when Argo CD reports B Synced and
// Healthy (or, without an Argo CD server, after deploy.move_grace) does a
// second commit remove A. The state of every move is kept in a MoveStore, so
// that a restarted Meridian resumes it.
//
// Preview computes the diff an apply would commit, for `meridian plan`, and
// RepoDrift and ArgoDrift report what changed behind Meridian's back, for
// `meridian drift`.
package deploy
