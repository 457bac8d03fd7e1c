package gitops

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// lockFile takes an exclusive advisory lock on path, creating it if needed,
// and waits for it until ctx is done. It guards one mirror against
// concurrent fetches from this process and from others: the lock belongs to
// the open file, so two goroutines that each open the file exclude each
// other too, and no in-process registry of mutexes is needed.
//
// The lock file is never removed: removing it while another process waits
// on its old inode would let two holders in at once.
func lockFile(ctx context.Context, path string, log *slog.Logger) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	// Polling rather than a blocking lock call keeps ctx cancellation
	// working: a goroutine stuck in flock could not be interrupted.
	wait := 10 * time.Millisecond
	for logged := false; ; {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return func() {
				_ = unlockFile(f)
				f.Close()
			}, nil
		}
		if !logged {
			log.Debug("waiting for cache lock", "lock", path)
			logged = true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
