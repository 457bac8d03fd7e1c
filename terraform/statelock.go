package terraform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// StateLockedError is Terraform refusing to run because its own state lock
// is held: with a remote backend (S3 and DynamoDB, azurerm, GCS, http, …)
// the lock outlives a Terraform process that was killed, and only
// `terraform force-unlock` (Workspace.ForceUnlock) frees it.
type StateLockedError struct {
	// LockID is the lock's ID as Terraform reported it, for ForceUnlock;
	// empty when the message named none.
	LockID string
	Err    error
}

func (e *StateLockedError) Error() string {
	if e.LockID == "" {
		return e.Err.Error() + " (Terraform's state lock is held)"
	}
	return fmt.Sprintf("%v (Terraform's state lock is held: lock ID %s)", e.Err, e.LockID)
}

func (e *StateLockedError) Unwrap() error { return e.Err }

// Terraform reports a held state lock only in its message, whose lock ID
// terraform-exec no longer parses. The holder's ID is in "Lock Info:" for
// most backends; the http backend puts it in its own message ("already
// locked: ID=…") and shows the refused request's ID under "Lock Info:".
var (
	stateLockRE       = regexp.MustCompile(`Error acquiring the state lock`)
	holderIDRE        = regexp.MustCompile(`already locked:\s+ID=([^\s"]+)`)
	lockInfoIDRE      = regexp.MustCompile(`Lock Info:\s+ID:\s+([^\s"]+)`)
	errNotInitialised = errors.New("the workspace was never initialised (no .terraform folder): plan the target once, so that init configures its backend")
)

// stateLocked returns err as a *StateLockedError when Terraform's message
// (err's, or diags, the diagnostics of a -json run) says the state lock is
// held, and err unchanged otherwise.
func stateLocked(err error, diags string) error {
	msg := err.Error() + "\n" + diags
	if !stateLockRE.MatchString(msg) {
		if diags != "" {
			return fmt.Errorf("%w: %s", err, diags)
		}
		return err
	}
	if diags != "" {
		err = fmt.Errorf("%w: %s", err, diags)
	}
	out := &StateLockedError{Err: err}
	if m := holderIDRE.FindStringSubmatch(msg); m != nil {
		out.LockID = m[1]
	} else if m := lockInfoIDRE.FindStringSubmatch(msg); m != nil {
		out.LockID = m[1]
	}
	out.LockID = strings.TrimSpace(out.LockID)
	return out
}

// ForceUnlock runs `terraform force-unlock -force lockID` in the workspace,
// which must have been initialised with its backend (init saves the
// backend settings under .terraform/): the lock lives in the backend.
// With the local backend Terraform refuses, as the lock dies with its
// process anyway.
func (w *Workspace) ForceUnlock(ctx context.Context, lockID string) error {
	if strings.TrimSpace(lockID) == "" {
		return fmt.Errorf("terraform force-unlock: a lock ID is required")
	}
	if _, err := os.Stat(filepath.Join(w.Dir, ".terraform")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("terraform force-unlock in %s: %w", w.Dir, errNotInitialised)
	}
	if err := w.r.handOver(w.Dir); err != nil {
		return err
	}
	if err := w.tf.ForceUnlock(ctx, lockID); err != nil {
		return fmt.Errorf("terraform force-unlock %s: %w", lockID, err)
	}
	return nil
}
