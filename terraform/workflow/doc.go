// Package workflow turns a Meridian plan into Terraform runs, the way
// Atlantis does: per-target workspaces under the state dir, a saved plan
// file per target, locks in the store so that no two runs touch a target
// at once, and an applied-state ledger written only after Terraform
// succeeded.
//
// A Session is one command's work on one config repo (a plan, an apply or
// a drift check). It records a run in the store, holds the target locks it
// takes, renews their leases in the background and cancels its work when a
// lease is lost, so that a fenced-out run stops instead of racing the run
// that took over. The CLI, the API and the server's reconcile loop all go
// through sessions, so they share one per-target queue.
//
// The state dir is laid out as:
//
//	meridian.db                              the store (unless --db)
//	plugin-cache/                            Terraform's shared provider cache
//	workspaces/<repo-id>/<target>/           working folder; local-backend state
//	plans/<repo-id>/<plan-id>/<target>/      module snapshot and plan.tfplan
//	backups/<repo-id>/<target>/<serial>-<run>.tfstate
//	                                         the state before every apply
package workflow
