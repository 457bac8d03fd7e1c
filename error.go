package meridian

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes, mapped to exit codes and HTTP statuses at the edges.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	// EUNAVAILABLE: something cannot serve the request now but may later:
	// a dependency (the store, Git) is down, or the server is shutting
	// down. Stores use it for classified storage
	// failures (store.UnavailableError: a full disk, a read-only database).
	// The HTTP edge answers it with 503 and Retry-After.
	EUNAVAILABLE = "unavailable"
	// ETIMEOUT: work ran out of its time budget (a plan, a review, an
	// apply, a drift check, a policy evaluation) and was stopped.
	ETIMEOUT = "timeout"
)

// Error is an application error with a machine-readable code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ConfigError is one problem in a config file, rendered as
// "path:line: field: message".
type ConfigError struct {
	File    string
	Line    int
	Field   string
	Message string
}

func (e ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ConfigErrors collects every problem found in a config repo, so that one bad
// file never hides the others.
type ConfigErrors []ConfigError

func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
