// Package sqlite is the embedded store backend: one SQLite database file in
// WAL mode (modernc.org/sqlite, pure Go), shared by every meridian process
// that points at it. Write transactions start with BEGIN IMMEDIATE, so that
// the lock table's read-check-write is atomic across processes.
package sqlite
