package workflow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/meridianhq/meridian/store"
)

// Plan retention on disk. The store decides which plans go
// (store.Plans.PrunePlans); their artefact folders under
// plans/<repo-id>/<plan-id>/ go with them. A folder whose plan the store
// does not hold (pruned by another process, never saved, or left by a
// crash) goes once it is older than orphanGrace: a plan being made now
// moves its artefacts into place a moment before it is saved, and must
// not lose them in between.

// orphanGrace is how old a plan folder without a saved plan must be
// before it is removed.
const orphanGrace = time.Hour

// pendingPrefix names a plan's artefact folder while its plan ID is not
// known yet.
const pendingPrefix = ".pending-"

// prunePlans applies retention to repoID's plans after a save. Failures
// are logged, not returned: the plan is saved, and the next save prunes
// again.
func (w *Workflow) prunePlans(ctx context.Context, repoID string) {
	if w.opts.PlanRetention < 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	pruned, err := w.st.PrunePlans(ctx, repoID, w.opts.PlanRetention)
	if err != nil {
		w.log.Warn("plan retention", "repo", repoID, "err", err)
		return
	}
	for _, p := range pruned {
		if err := os.RemoveAll(filepath.Join(w.plansDir(repoID), p.ID)); err != nil {
			w.log.Warn("remove a pruned plan's artefacts", "plan", p.ID, "err", err)
		}
	}
	if len(pruned) > 0 {
		w.log.Info("pruned plans", "repo", repoID, "count", len(pruned), "keep_per_ref", w.opts.PlanRetention)
	}
	if err := w.removeOrphans(ctx, repoID, time.Now().Add(-orphanGrace)); err != nil {
		w.log.Warn("remove plan artefacts without a plan", "repo", repoID, "err", err)
	}
}

// removeOrphans removes the plan folders of repoID, last changed before
// before, whose plan the store does not hold.
func (w *Workflow) removeOrphans(ctx context.Context, repoID string, before time.Time) error {
	entries, err := os.ReadDir(w.plansDir(repoID))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	saved, err := w.savedPlans(ctx, repoID)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || saved[e.Name()] {
			continue
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(before) {
			continue
		}
		errs = append(errs, os.RemoveAll(filepath.Join(w.plansDir(repoID), e.Name())))
	}
	return errors.Join(errs...)
}

func (w *Workflow) savedPlans(ctx context.Context, repoID string) (map[string]bool, error) {
	recs, err := w.st.ListPlans(ctx, repoID, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(recs))
	for _, r := range recs {
		out[r.ID] = true
	}
	return out, nil
}

// discardUnsaved removes the artefacts of a plan the session made but did
// not save (`meridian plan` outside Git without --save), unless the store
// holds a plan of that ID, whose artefacts they now are.
func (s *Session) discardUnsaved() {
	s.mu.Lock()
	st, saved := s.staged, s.saved
	s.mu.Unlock()
	if st == nil || saved || st.planID == "" {
		return
	}
	ctx := context.Background()
	have, err := s.w.savedPlans(ctx, s.repoID)
	if err != nil {
		s.w.log.Warn("discard an unsaved plan's artefacts", "plan", st.planID, "err", err)
		return
	}
	if have[st.planID] {
		return
	}
	if err := os.RemoveAll(filepath.Join(s.w.plansDir(s.repoID), st.planID)); err != nil {
		s.w.log.Warn("discard an unsaved plan's artefacts", "plan", st.planID, "err", err)
	}
}

// checkNotPruned fails with the store's *store.PlanPrunedError when
// retention pruned planID after the apply read it but before it held its
// locks (from then on retention keeps it): its artefacts may be gone.
func (s *Session) checkNotPruned(ctx context.Context, planID string) error {
	_, err := s.w.st.GetPlan(ctx, planID)
	if store.IsPlanPruned(err) {
		return &RefusedError{Reason: err.Error()}
	}
	return err
}
