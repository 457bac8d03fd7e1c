package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/meridianhq/meridian"
)

// ErrLockLost means the caller no longer holds the lock it names: its lease
// expired and someone took the lock over, or an operator unlocked it.
var ErrLockLost = meridian.Errorf(meridian.ECONFLICT, "lock lost: the lease expired and the lock was taken over or force-unlocked")

// ErrRunNotRunning means a run was already final when FinishRun was called.
var ErrRunNotRunning = meridian.Errorf(meridian.ECONFLICT, "run is no longer running")

// LockHeldError is AcquireLock's answer when someone else holds the lock.
type LockHeldError struct {
	Holder Lock
}

func (e *LockHeldError) Error() string {
	h := e.Holder
	return fmt.Sprintf("target %s is locked by %s (pid %d, actor %s, plan %s, run %s) since %s; lease expires %s",
		h.Key.Target, h.Owner.Host, h.Owner.PID, h.Owner.Actor, orNone(h.PlanID), orNone(h.RunID),
		h.AcquiredAt.UTC().Format(time.RFC3339), h.ExpiresAt.UTC().Format(time.RFC3339))
}

// Unwrap lets errors.As find the meridian.Error code ECONFLICT.
func (e *LockHeldError) Unwrap() error { return meridian.Errorf(meridian.ECONFLICT, "lock held") }

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// IsLockHeld reports whether err is (or wraps) a *LockHeldError.
func IsLockHeld(err error) bool {
	var e *LockHeldError
	return errors.As(err, &e)
}

// NotFound returns the ENOTFOUND error backends use for missing rows.
func NotFound(what, id string) error {
	return meridian.Errorf(meridian.ENOTFOUND, "%s %q not found", what, id)
}

// RepoID derives a config repo's ID from its source, so that the same
// source always maps to the same ID and the ID is safe in a file name.
func RepoID(source string) string {
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:])[:16]
}

// UnavailableError is a storage failure classified by a backend as
// meridian.EUNAVAILABLE: a store that cannot serve the request now but may
// later (a full disk, an I/O error, a read-only database, a write lock held
// past the busy timeout). The HTTP edge answers it with 503 and Retry-After
// rather than 500, and /readyz reports the store as failing. Its message
// is the backend's (which may name the database file): show it to
// operators, not to API clients.
type UnavailableError struct {
	// Reason is a short description without file names, safe to show to
	// clients, such as "database or disk is full".
	Reason string
	Err    error
}

// Unavailable wraps err as an UnavailableError.
func Unavailable(reason string, err error) error {
	return &UnavailableError{Reason: reason, Err: err}
}

func (e *UnavailableError) Error() string { return e.Err.Error() }

// Unwrap lets errors.As find the meridian.Error code
// meridian.EUNAVAILABLE (first) and errors.Is find the backend's error.
func (e *UnavailableError) Unwrap() []error {
	return []error{meridian.Errorf(meridian.EUNAVAILABLE, "store unavailable: %s", e.Reason), e.Err}
}

// IsUnavailable reports whether err is (or wraps) an UnavailableError.
func IsUnavailable(err error) bool {
	var e *UnavailableError
	return errors.As(err, &e)
}
