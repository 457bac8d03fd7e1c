// Package sqlstore is the one implementation of store.Store over
// database/sql that both SQL backends share: store/sqlite (modernc.org/sqlite)
// and store/postgres (pgx through its stdlib driver). Every query is
// written here once, with ? placeholders, in the SQL both databases speak;
// a Dialect carries what truly differs (numbered placeholders, row locks,
// transaction-scoped locks on named scopes, and which driver errors mean
// "the store is unavailable"). The backends keep only what is theirs:
// opening the database, its migrations (SQL files per dialect) and Ping.
//
// The schemas of both backends keep the same rows: times in Unix
// milliseconds, flags as 0/1 integers, JSON documents as text.
package sqlstore
