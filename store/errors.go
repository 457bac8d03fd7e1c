package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
)

// ErrLockLost means the caller no longer holds the lock it names: its lease
// expired and someone took the lock over, or an operator unlocked it.
var ErrLockLost = meridian.Errorf(meridian.ECONFLICT, "lock lost: the lease expired and the lock was taken over or force-unlocked")

// ErrRunNotRunning means a run was already final when FinishRun was called.
var ErrRunNotRunning = meridian.Errorf(meridian.ECONFLICT, "run is no longer running")

// LockHeldError is AcquireLock's answer when the request may not have the
// lock: someone else holds it, or it is free but queued waiters come
// first.
type LockHeldError struct {
	// Holder is the lock's holder; zero (but for its Key) when the lock is
	// free and only the queue stands in the way.
	Holder Lock
	// Position is the request's place in the lock's queue (1: next), 0
	// when the request is not queued; Waiters is how many live waiters
	// the queue holds.
	Position, Waiters int
}

// Held reports whether someone holds the lock (rather than only the
// queue standing in the way).
func (e *LockHeldError) Held() bool { return e.Holder.Token != 0 }

func (e *LockHeldError) Error() string {
	h := e.Holder
	var msg string
	if e.Held() {
		msg = fmt.Sprintf("target %s is locked by %s (pid %d, actor %s, plan %s, run %s) since %s; lease expires %s",
			h.Key.Target, h.Owner.Host, h.Owner.PID, h.Owner.Actor, orNone(h.PlanID), orNone(h.RunID),
			h.AcquiredAt.UTC().Format(time.RFC3339), h.ExpiresAt.UTC().Format(time.RFC3339))
	} else {
		msg = fmt.Sprintf("target %s is free but runs queued for it go first", h.Key.Target)
	}
	switch {
	case e.Position > 0:
		msg += fmt.Sprintf("; queued at position %d of %d", e.Position, e.Waiters)
	case e.Waiters > 0:
		msg += fmt.Sprintf("; %d run(s) waiting", e.Waiters)
	}
	return msg
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

// PlanPrunedError is GetPlan's answer for a plan that retention deleted:
// an ENOTFOUND error that says so, rather than that the plan never
// existed.
type PlanPrunedError struct {
	Plan PrunedPlan
}

func (e *PlanPrunedError) Error() string {
	p := e.Plan
	return fmt.Sprintf("plan %s (ref %s, commit %s, made %s) was pruned by retention at %s: the store keeps the newest plans of each branch and every applied plan; plan again",
		p.ID, orNone(p.Ref), orNone(p.Commit), p.CreatedAt.UTC().Format(time.RFC3339), p.PrunedAt.UTC().Format(time.RFC3339))
}

// Unwrap lets errors.As find the meridian.Error code ENOTFOUND.
func (e *PlanPrunedError) Unwrap() error { return meridian.Errorf(meridian.ENOTFOUND, "plan pruned") }

// IsPlanPruned reports whether err is (or wraps) a *PlanPrunedError.
func IsPlanPruned(err error) bool {
	var e *PlanPrunedError
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

// SchemaMigration is one schema migration: its version (the NNNN of its
// file) and its name (the rest of the file name).
type SchemaMigration struct {
	Version int
	Name    string
}

func (m SchemaMigration) String() string { return fmt.Sprintf("%d (%s)", m.Version, m.Name) }

// SchemaError is a backend's refusal to open a database whose recorded
// migrations this binary does not know: a newer Meridian (or a build with
// other numbering) wrote it. Running on a schema it does not understand
// could lose or corrupt what is stored, so the backend changes nothing and
// fails with this EINVALID error; the operator upgrades Meridian or points
// it at another database.
type SchemaError struct {
	// Recorded is every migration the database records, oldest first.
	Recorded []SchemaMigration
	// Unknown are the recorded migrations whose version this binary does
	// not have.
	Unknown []SchemaMigration
	// Renamed are recorded migrations whose version this binary has under
	// another name; Name is the recorded one.
	Renamed []SchemaMigration
	// Missing are migrations of this binary that the database does not
	// record although it records a newer one: applying them now would run
	// them out of order, on a schema they were not written for.
	Missing []SchemaMigration
	// Newest is the newest migration this binary knows.
	Newest SchemaMigration
}

func (e *SchemaError) Error() string {
	var why []string
	if len(e.Unknown) > 0 {
		why = append(why, "it records migrations this meridian does not have: "+joinMigrations(e.Unknown))
	}
	for _, r := range e.Renamed {
		why = append(why, fmt.Sprintf("it records migration %d as %q, which this meridian knows by another name", r.Version, r.Name))
	}
	if len(e.Missing) > 0 {
		why = append(why, "it lacks migrations of this meridian older than ones it records: "+joinMigrations(e.Missing))
	}
	versions := make([]int, len(e.Recorded))
	for i, m := range e.Recorded {
		versions[i] = m.Version
	}
	return fmt.Sprintf("schema written by another meridian (a newer release, or a build with other migrations): %s "+
		"(recorded versions: %s; the newest this meridian knows: %s). Nothing was changed: "+
		"upgrade meridian to the release that wrote this database or a newer one, or point --db (MERIDIAN_DB) or --state-dir at another database",
		strings.Join(why, "; "), versionRanges(versions), e.Newest)
}

// Unwrap lets errors.As find the meridian.Error code EINVALID: the
// database given is not one this binary can use, as a bad --db is not.
func (e *SchemaError) Unwrap() error {
	return meridian.Errorf(meridian.EINVALID, "database schema unknown to this meridian")
}

// IsSchemaError reports whether err is (or wraps) a *SchemaError.
func IsSchemaError(err error) bool {
	var e *SchemaError
	return errors.As(err, &e)
}

func joinMigrations(ms []SchemaMigration) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, ", ")
}

// versionRanges renders sorted versions as ranges ("1-6, 8-15"), so that a
// long history stays one short line; "none" when there is none.
func versionRanges(vs []int) string {
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(vs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", vs[i], vs[j]))
		}
		i = j + 1
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
