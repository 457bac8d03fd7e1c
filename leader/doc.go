// Package leader lets several `meridian serve` replicas share one
// PostgreSQL store with one leader among them, and keeps the work that
// only the leader does.
//
// The election is a lease row with a fencing token (table leader_leases,
// migration 9 of store/postgres): the leader renews the lease every
// TTL/3; another replica takes it over, with the next token, once it has
// expired. All times are the database's clock, so the replicas' clocks
// need not agree. A leader that cannot renew (it lost its database
// connection, or the database is down) cancels its leader context before
// the lease can expire: it stops reconciling, applying and dispatching
// while the lease still keeps the others out. A leader that shuts down
// cleanly ends its lease at once, so that another replica takes over
// without waiting for it to expire.
//
// Queue holds verified webhook deliveries until the leader processes
// them (table webhook_queue), so that a delivery received by any replica
// outlives that replica and the leader working on it.
//
// A server alone on its store (SQLite) needs neither: Solo is always the
// leader.
package leader
