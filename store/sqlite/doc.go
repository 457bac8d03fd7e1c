// Package sqlite is the embedded store backend: one SQLite database file in
// WAL mode (modernc.org/sqlite, pure Go), shared by every meridian process
// that points at it. Write transactions start with BEGIN IMMEDIATE, so that
// the lock table's read-check-write is atomic across processes. The
// queries are store/sqlstore's, shared with store/postgres; this package
// opens the file, sets its pragmas and applies its migrations.
package sqlite
