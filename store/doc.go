// Package store defines Meridian's durable record: saved plans and their
// Terraform artefacts, runs, per-target locks with leases and fencing
// tokens, the applied-state ledger, drift observations and an append-only
// audit log.
//
// The Store interface is the contract every backend meets; store/sqlite is
// the embedded backend (one file, WAL mode), store/postgres the one that
// several replicas share, both running the queries of store/sqlstore, and
// store/storetest is the conformance suite each backend's tests run, so
// that both behave the same.
//
// Every row carries the config repo's ID (RepoID), so one store can serve
// several config repos. Consumers should depend on the narrow interfaces
// (Locks, Ledger, ...) they use rather than on Store.
package store
