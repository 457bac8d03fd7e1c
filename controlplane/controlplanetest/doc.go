// Package controlplanetest has in-memory stand-ins for the control plane's
// collaborators: a Store (which also serves package web's handlers), a
// Loader over in-memory configs, a Planner that places workloads without
// the policy engine, and an Applier that records applies. With them,
// packages controlplane and web are tested fast and without OPA or
// Terraform; cmd/meridian's end-to-end tests use the real ones.
package controlplanetest
