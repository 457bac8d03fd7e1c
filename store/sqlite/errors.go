package sqlite

import (
	"errors"

	"github.com/meridianhq/meridian/store"
)

// SQLite's primary result codes (https://sqlite.org/rescode.html) that mean
// "the store cannot serve this now": the operator has to free disk space,
// fix permissions or wait for another writer. Extended codes carry the
// primary code in their low byte.
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteProtocol = 15
)

var unavailableReasons = map[int]string{
	sqliteBusy:     "the database is locked by another writer (busy timeout exceeded)",
	sqliteLocked:   "the database table is locked",
	sqliteNoMem:    "out of memory",
	sqliteReadOnly: "the database is read-only",
	sqliteIOErr:    "disk I/O error",
	sqliteFull:     "database or disk is full",
	sqliteCantOpen: "unable to open the database file",
	sqliteProtocol: "database locking protocol error",
}

// classify is the one place SQLite errors become store errors: the codes
// above are wrapped as store.UnavailableError (meridian.EUNAVAILABLE, so HTTP 503);
// every other error is returned as it is.
func classify(err error) error {
	if err == nil || store.IsUnavailable(err) {
		return err
	}
	var ce interface{ Code() int }
	if !errors.As(err, &ce) {
		return err
	}
	if reason, ok := unavailableReasons[ce.Code()&0xff]; ok {
		return store.Unavailable(reason, err)
	}
	return err
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var ce interface{ Code() int }
	return errors.As(err, &ce) && (ce.Code()&0xff == sqliteBusy || ce.Code()&0xff == sqliteLocked)
}
