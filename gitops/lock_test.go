package gitops

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
)

func TestLockFile(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	path := filepath.Join(t.TempDir(), "m.lock")

	unlock, err := lockFile(t.Context(), path, log)
	if err != nil {
		t.Fatal(err)
	}

	// A second holder in the same process is shut out: the lock belongs to
	// the open file, not the process. With the context already cancelled,
	// the wait ends at once instead of hanging.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := lockFile(ctx, path, log); !errors.Is(err, context.Canceled) {
		t.Fatalf("second lock while held: err = %v, want context.Canceled", err)
	}

	unlock()
	unlock2, err := lockFile(ctx, path, log)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}
