// Package controlplanetest has in-memory stand-ins for the control plane's
// collaborators: a Store (which also serves package web's handlers), a
// Loader over in-memory configs, a Planner that places workloads without
// the policy engine, and an Applier that records applies. With them,
// packages controlplane and web are tested fast and without OPA or
// Terraform; cmd/meridian's end-to-end tests use the real ones. Harness
// wires them to a Reconciler, with a fake GitHub behind the real client,
// for both packages' tests, and OpenSQLite opens the real store for tests
// of the history, which Store does not keep.
package controlplanetest
