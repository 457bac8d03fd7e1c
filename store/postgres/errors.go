package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meridianhq/meridian/store"
)

// SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
// that mean "the store cannot serve this now": the server is down,
// restarting, out of disk or read-only. Constraint violations and other
// errors of the request itself are returned as they are.
var unavailableClasses = map[string]string{
	"08": "the connection to the database failed",
	"53": "the database server is out of resources (disk, memory or connections)",
	"57": "the database server is shutting down or restarting",
	"58": "database server system error",
}

var unavailableCodes = map[string]string{
	"25006": "the database is read-only",
	"40P01": "deadlock detected",
}

// classify is the one place PostgreSQL errors become store errors: server
// and connection failures are wrapped as store.UnavailableError
// (meridian.EUNAVAILABLE, so HTTP 503); every other error is returned as it
// is. Cancellations stay what they are.
func classify(err error) error {
	if err == nil || store.IsUnavailable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if reason, ok := unavailableCodes[pe.Code]; ok {
			return store.Unavailable(reason, err)
		}
		if reason, ok := unavailableClasses[pe.Code[:min(2, len(pe.Code))]]; ok {
			return store.Unavailable(reason, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return store.Unavailable("the connection to the database failed", err)
	}
	return err
}
