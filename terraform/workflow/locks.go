package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/meridianhq/meridian/store"
)

// deployLockWait is the shortest wait for the deploy lock, whatever
// Options.LockTimeout says: by then Terraform has applied, and an apply
// that gave up on the deploy step would leave its deploy tree uncommitted
// for a step that takes seconds.
const deployLockWait = 5 * time.Minute

// logWait says where the session waits in a lock's queue: at warn level,
// so that the CLI shows it by default, once when it starts waiting and
// again whenever its place changes.
func (s *Session) logWait(e *store.LockHeldError) {
	args := []any{"target", e.Holder.Key.Target, "run", s.run.ID, "position", e.Position, "waiters", e.Waiters}
	if e.Held() {
		args = append(args, "holder", fmt.Sprintf("%s (pid %d, actor %s, run %s)", e.Holder.Owner.Host, e.Holder.Owner.PID,
			e.Holder.Owner.Actor, e.Holder.RunID), "lease_expires", e.Holder.ExpiresAt)
	}
	s.w.log.Warn(fmt.Sprintf("waiting for lock on target %s: position %d of %d", e.Holder.Key.Target, e.Position, e.Waiters), args...)
}

// LockDeploy takes the repo's deploy lock (store.DeployLockTarget) for
// the rest of the session, waiting in its queue as for a target lock, and
// returns its fence. Applies take it after their Terraform targets and
// before they commit the deploy tree and its move records, so that two
// applies of one repo deploy one after the other even when the config has
// no Terraform target, and a writer that lost the lock is fenced out.
// Taking it again in the same session returns the held lock's fence.
func (s *Session) LockDeploy(ctx context.Context) (store.Fence, error) {
	s.mu.Lock()
	planID := s.planID
	s.mu.Unlock()
	if _, err := s.lock(ctx, []string{store.DeployLockTarget}, planID); err != nil {
		return store.Fence{}, fmt.Errorf("deploy lock: %w", err)
	}
	f, ok := s.fence(store.DeployLockTarget)
	if !ok {
		return store.Fence{}, fmt.Errorf("deploy lock: not held after taking it")
	}
	return f, nil
}
