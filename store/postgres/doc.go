// Package postgres is the store backend for several meridian processes
// (replicas) sharing one database: PostgreSQL through pgx v5, with a
// pgxpool connection pool behind database/sql.
//
// It keeps the same rows as store/sqlite (times in Unix milliseconds, JSON
// documents as text), runs the same queries (store/sqlstore, with this
// package's dialect) and passes the same conformance suite
// (store/storetest). Where SQLite serializes every writer with BEGIN
// IMMEDIATE, PostgreSQL runs transactions concurrently at READ COMMITTED,
// so each read-then-write here locks what it reads: the lock row
// (SELECT ... FOR UPDATE, after an INSERT ... ON CONFLICT DO NOTHING makes
// sure it exists), a transaction-scoped advisory lock per drift, condition
// or moves scope, or one atomic INSERT ... ON CONFLICT statement (webhook
// claims). Event appends share one advisory lock so that event IDs grow in
// commit order (see appendEvents). Migrations are embedded and applied in
// one transaction under an advisory lock.
package postgres
