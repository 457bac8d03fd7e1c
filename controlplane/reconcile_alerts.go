package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/alerting"
	"github.com/meridianhq/meridian/store"
)

// AlertingConfigurer takes the tracked branch's alerting.yaml.
type AlertingConfigurer interface {
	// Configure is given alerting.yaml's bytes at commit, nil when the
	// commit has none (alerting is then off). A file that does not parse,
	// or whose sinks' secrets cannot be read, is an error naming file,
	// line and field, and the previous config stays in force.
	Configure(ctx context.Context, commit string, data []byte) error
}

// LockLister lists a repo's held target locks (store.Locks).
type LockLister interface {
	ListLocks(ctx context.Context, repoID string) ([]store.Lock, error)
}

// AlertingState is what the reconciler knows about alerting.yaml on the
// tracked branch, for /api/v1/status.
type AlertingState struct {
	// Commit is the newest commit whose alerting.yaml was accepted: the
	// config in force is its (empty: none read yet, or the branch has
	// none).
	Commit string `json:"commit,omitempty"`
	// Error says why the newest commit's alerting.yaml was refused
	// (file:line: field: message); the config of Commit stays in force.
	Error string `json:"error,omitempty"`
}

// syncAlerting hands the tracked commit's alerting.yaml to the
// configurer, once per commit. Only the tracked branch's commits get here:
// a pull request's head never configures where alerts go.
func (r *Reconciler) syncAlerting(ctx context.Context, snap *Snapshot) {
	if r.opts.Alerting == nil {
		return
	}
	r.mu.Lock()
	seen := r.alertingSeen == snap.Commit && snap.Commit != "" && !snap.Dirty
	r.mu.Unlock()
	if seen {
		return
	}
	data, err := fs.ReadFile(snap.FS, alerting.FileName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data, err = nil, nil
	case err == nil && data == nil:
		data = []byte{} // present but empty: Parse says what is wrong
	}
	if err == nil {
		err = r.opts.Alerting.Configure(ctx, snap.Commit, data)
	} else {
		err = fmt.Errorf("%s: %w", alerting.FileName, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alertingSeen = snap.Commit
	if err != nil {
		r.state.Alerting.Error = err.Error()
		r.metrics.loopErrors.WithLabelValues("alerting").Inc()
		r.log.ErrorContext(ctx, "alerting.yaml refused; the previous alerting config stays in force",
			"commit", short(snap.Commit), "in_force", short(r.state.Alerting.Commit), "err", err)
		return
	}
	r.state.Alerting = AlertingState{}
	if data != nil {
		r.state.Alerting.Commit = snap.Commit
	}
}

// recordConditions records the conditions a plan of the tracked branch
// shows. Like recordPlan, a failure is logged: the next plan catches up.
func (r *Reconciler) recordConditions(ctx context.Context, snap *Snapshot, p *meridian.Plan) {
	if r.opts.Recorder == nil {
		return
	}
	current := PlanConditions(snap.Config, p, r.opts.RepoID, r.opts.Branch)
	if _, err := r.opts.Recorder.Conditions(ctx, r.opts.RepoID, PlanSources(p), current); err != nil {
		r.metrics.loopErrors.WithLabelValues("history").Inc()
		r.log.ErrorContext(ctx, "record plan conditions", "plan", p.ID, "err", err)
	}
}

// lockLoop checks every LockCheckInterval for target locks held longer
// than LockAge, and records them as lock conditions.
func (r *Reconciler) lockLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.LockCheckInterval)
	defer t.Stop()
	for {
		if err := r.checkLocks(ctx); err != nil && ctx.Err() == nil {
			r.metrics.loopErrors.WithLabelValues("locks").Inc()
			r.log.ErrorContext(ctx, "check lock ages", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkLocks is one lock-age check.
func (r *Reconciler) checkLocks(ctx context.Context) error {
	locks, err := r.opts.Locks.ListLocks(ctx, r.opts.RepoID)
	if err != nil {
		return fmt.Errorf("list locks: %w", err)
	}
	current := LockConditions(r.opts.RepoID, locks, r.now(), r.opts.LockAge)
	_, err = r.opts.Recorder.Conditions(ctx, r.opts.RepoID, []meridian.AlertSource{meridian.AlertSourceLock}, current)
	return err
}
