package workflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
)

// RuleDecommissionSkipped: the destruction of a target that left the
// config could not be planned where the plan was made.
const RuleDecommissionSkipped = "MER-TF-005"

// decommissioned returns the targets whose Terraform workspace an apply of
// cfg destroys: targets Meridian applied that are no longer Terraform
// targets of cfg (removed, or their engine or module changed), each to be
// planned with a destroy plan of its last applied module. Protected ones
// (protect: true in cfg, or when last applied) come back as protected
// destroy items instead, with every target remembered as protected that
// left the config: nothing of them is destroyed, and the deploy repo keeps
// their files.
func (s *Session) decommissioned(ctx context.Context, cfg *meridian.Config) ([]*targetPlan, []meridian.DestroyItem, error) {
	applied, err := s.w.st.AppliedTargets(ctx, s.repoID)
	if err != nil {
		return nil, nil, err
	}
	remembered, err := s.w.st.ProtectedTargets(ctx, s.repoID)
	if err != nil {
		return nil, nil, err
	}
	// Protect counts as it was at the last apply as well as in cfg: the
	// flag is taken away by applying protect: false, never by the same
	// change that removes what it protects.
	protected := map[string]bool{}
	for _, name := range remembered {
		protected[name] = true
	}
	inCfg := map[string]*meridian.Target{}
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		inCfg[t.Name] = t
		protected[t.Name] = protected[t.Name] || t.Protect
	}
	isTF := map[string]bool{}
	for _, t := range TerraformTargets(cfg) {
		isTF[t.Name] = true
	}
	var tps []*targetPlan
	items := map[string]meridian.DestroyItem{}
	for _, at := range applied {
		if isTF[at.Target] {
			continue
		}
		t := meridian.Target{Name: at.Target}
		reason := meridian.DestroyRemoved
		if c := inCfg[at.Target]; c != nil {
			t, reason = *c, meridian.DestroyNoTerraform
		}
		if protected[at.Target] {
			items[at.Target] = meridian.DestroyItem{Kind: meridian.DestroyTarget, Name: at.Target, Reason: reason, Protected: true}
			continue
		}
		t.Terraform = &meridian.TerraformModule{Module: s.appliedModule(ctx, at)}
		tps = append(tps, &targetPlan{target: &t, decom: &at})
	}
	for _, name := range remembered {
		if _, ok := inCfg[name]; !ok {
			if _, ok := items[name]; !ok {
				items[name] = meridian.DestroyItem{Kind: meridian.DestroyTarget, Name: name, Reason: meridian.DestroyRemoved, Protected: true}
			}
		}
	}
	out := make([]meridian.DestroyItem, 0, len(items))
	for _, d := range items {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return tps, out, nil
}

// appliedModule is the module folder of the plan last applied on at, for
// display only: empty when the plan is no longer stored.
func (s *Session) appliedModule(ctx context.Context, at store.AppliedTarget) string {
	rec, err := s.w.st.GetPlan(ctx, at.PlanID)
	if err != nil {
		return ""
	}
	for _, pt := range rec.Targets {
		if pt.Target == at.Target {
			return pt.Change.Module
		}
	}
	return ""
}

// planDecommission plans the destruction of everything in a decommissioned
// target's workspace: terraform plan -destroy of the module and variables
// it was last applied with, so that every provider is configured as it was.
// Failures are the target's own, as in planTarget.
func (s *Session) planDecommission(ctx context.Context, tp *targetPlan) {
	t, at := tp.target, tp.decom
	tp.pt.Target = t.Name
	fail := func(err error) {
		tp.change = emptyChange(t, meridian.ChangeStatusFailed, err.Error())
		tp.change.Decommission = true
		tp.findings = append(tp.findings, meridian.Finding{Rule: RuleTerraformFailed, Severity: meridian.SeverityDeny, Target: t.Name,
			File: t.Origin.File, Line: t.Origin.Line,
			Message:     fmt.Sprintf("Terraform cannot plan the destruction of target %s, which left the config (or Terraform): %v", t.Name, terraformHint(t.Name, err)),
			Remediation: "put the target back in the config to keep it, or fix its backend or credentials so that its workspace can be destroyed, then plan again"})
	}
	dir := s.w.abs(at.Dir)
	files, err := terraform.ReadModule(os.DirFS(dir), "module")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, backendFile))
	}
	if errors.Is(err, fs.ErrNotExist) {
		// Not in this state dir: a pull request's workflow, whose state
		// dir is its own, or artefacts removed by hand. Nothing is
		// destroyed, and nothing else is held up.
		msg := fmt.Sprintf("the artefacts of its last applied plan %s are not in this state dir", at.PlanID)
		tp.change = emptyChange(t, meridian.ChangeStatusSkipped, msg)
		tp.change.Decommission = true
		tp.findings = append(tp.findings, meridian.Finding{Rule: RuleDecommissionSkipped, Severity: meridian.SeverityWarn, Target: t.Name,
			File: t.Origin.File, Line: t.Origin.Line,
			Message:     fmt.Sprintf("the destruction of target %s, which left the config (or Terraform), was not planned: %s", t.Name, msg),
			Remediation: "plan and apply with the server's (or the applying machine's) state dir, which holds the target's workspace"})
		return
	}
	if err != nil {
		fail(fmt.Errorf("the artefacts of its last applied plan %s: %w", at.PlanID, err))
		return
	}
	backend, err := readBackend(dir)
	if err != nil {
		fail(err)
		return
	}
	if _, err := s.planWorkspace(ctx, tp, files, backend, terraform.PlanDestroy); err != nil {
		fail(err)
		return
	}
	tp.change.Decommission = true
}

// terraformHint adds to err what an operator does about it: for a held
// Terraform state lock, the command that breaks it.
func terraformHint(target string, err error) string {
	var locked *terraform.StateLockedError
	if errors.As(err, &locked) && locked.LockID != "" {
		return fmt.Sprintf("%v; if the run holding it is gone: meridian unlock %s --terraform-lock %s --reason TEXT", err, target, locked.LockID)
	}
	return err.Error()
}

// forgetTarget records that a decommissioned target was destroyed: its
// ledger and applied-target rows go (fenced like every ledger write), and
// its workspace is left for CollectWorkspaces to remove once the
// retention has passed.
func (s *Session) forgetTarget(ctx context.Context, fence store.Fence, target string) error {
	if err := s.w.st.ForgetTarget(ctx, fence); err != nil {
		return err
	}
	if err := s.markOrphaned(target, time.Now()); err != nil {
		s.w.log.Warn("mark decommissioned workspace", "target", target, "err", err)
	}
	s.audit(ctx, "target.decommissioned", target, s.planID, "Terraform destroyed the workspace's resources; the target left the ledger")
	return nil
}

// orphanMarker is where the time a workspace was first seen orphaned is
// kept: beside the workspace, never inside it, where Terraform and module
// syncs write.
func (s *Session) orphanMarker(target string) string {
	return filepath.Join(s.w.opts.StateDir, "workspaces", s.repoID, "."+target+".orphaned")
}

func (s *Session) markOrphaned(target string, at time.Time) error {
	return terraform.WriteFile(s.orphanMarker(target), []byte(at.UTC().Format(time.RFC3339)+"\n"))
}

func (s *Session) orphanedSince(target string) (time.Time, bool) {
	b, err := os.ReadFile(s.orphanMarker(target))
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	return t, err == nil
}

// CollectWorkspaces removes the orphaned workspaces of the session's repo:
// folders under workspaces/<repo-id>/ whose target is neither a Terraform
// target of cfg nor in the ledger (decommissioned, or planned once and
// never applied), whose state holds no resources, and that have been
// orphaned for at least retention (counted from the destroy, or from the
// first collection that saw them orphaned). A workspace whose state still
// holds resources is never removed: it is reported in kept. Each removal
// holds the target's lock; a locked target is left for the next run.
// retention <= 0 removes nothing.
func (s *Session) CollectWorkspaces(ctx context.Context, cfg *meridian.Config, retention time.Duration, now time.Time) (removed, kept []string, err error) {
	if retention <= 0 {
		return nil, nil, nil
	}
	root := filepath.Join(s.w.opts.StateDir, "workspaces", s.repoID)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("collect workspaces: %w", err)
	}
	live := map[string]bool{}
	for _, t := range TerraformTargets(cfg) {
		live[t.Name] = true
	}
	applied, err := s.w.st.AppliedTargets(ctx, s.repoID)
	if err != nil {
		return nil, nil, err
	}
	for _, at := range applied {
		live[at.Target] = true
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if live[name] {
			os.Remove(s.orphanMarker(name)) // the target is back
			continue
		}
		n, err := s.stateResources(ctx, filepath.Join(root, name))
		if err != nil || n > 0 {
			s.w.log.Warn("orphaned Terraform workspace still has state; keeping it", "target", name, "resources", n, "err", err)
			kept = append(kept, name)
			continue
		}
		since, ok := s.orphanedSince(name)
		if !ok {
			if err := s.markOrphaned(name, now); err != nil {
				return removed, kept, fmt.Errorf("collect workspaces: %w", err)
			}
			continue
		}
		if now.Sub(since) < retention {
			continue
		}
		if ok, err := s.removeWorkspace(ctx, name); err != nil {
			return removed, kept, err
		} else if ok {
			removed = append(removed, name)
		}
	}
	return removed, kept, nil
}

// removeWorkspace deletes an orphaned workspace under its target's lock,
// unless the lock is held or the target was applied meanwhile.
func (s *Session) removeWorkspace(ctx context.Context, target string) (bool, error) {
	held := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.locks[target]
		return ok
	}()
	if !held {
		l, err := s.w.st.AcquireLock(ctx, store.LockRequest{Key: store.LockKey{RepoID: s.repoID, Target: target}, Owner: s.w.opts.Owner,
			RunID: s.run.ID, TTL: s.w.opts.LeaseTTL})
		if store.IsLockHeld(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		defer func() {
			if err := s.w.st.ReleaseLock(context.WithoutCancel(ctx), l.Fence()); err != nil {
				s.w.log.Warn("release target lock", "target", target, "err", err)
			}
		}()
	}
	applied, err := s.w.st.AppliedTargets(ctx, s.repoID)
	if err != nil {
		return false, err
	}
	for _, at := range applied {
		if at.Target == target {
			return false, nil
		}
	}
	if err := os.RemoveAll(s.w.workspaceDir(s.repoID, target)); err != nil {
		return false, fmt.Errorf("remove orphaned workspace of %s: %w", target, err)
	}
	os.Remove(s.orphanMarker(target))
	s.audit(ctx, "workspace.removed", target, "", "orphaned Terraform workspace with no state removed after its retention")
	return true, nil
}

// stateResources counts the resource instances of a workspace's state: the
// backend's (terraform state pull) once init configured one, else the
// local state file, if any.
func (s *Session) stateResources(ctx context.Context, dir string) (int, error) {
	var raw []byte
	if _, err := os.Stat(filepath.Join(dir, ".terraform")); err == nil && s.w.tf != nil {
		ws, err := s.w.tf.Workspace(dir)
		if err != nil {
			return 0, err
		}
		st, err := ws.State(ctx)
		if err != nil {
			return 0, err
		}
		raw = st.Raw
	} else {
		b, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		raw = b
	}
	return terraform.CountResources(raw)
}

// ForceUnlockTerraform frees a remote backend's Terraform state lock on
// target, by the lock ID Terraform reported, for a Terraform process that
// died holding it. It holds Meridian's own lock on the target meanwhile,
// so that no run of Meridian's starts in between, and needs the target's
// workspace to be initialised with its backend. The unlock is audited
// with reason.
func (s *Session) ForceUnlockTerraform(ctx context.Context, target, lockID, reason string) error {
	ctx, done := s.bind(ctx)
	defer done()
	dir := s.w.workspaceDir(s.repoID, target)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("target %s has no Terraform workspace in this state dir (%s): %w", target, dir, err)
	}
	if _, err := s.lock(ctx, []string{target}, ""); err != nil {
		return err
	}
	defer s.unlock(target)
	ws, err := s.w.tf.Workspace(dir)
	if err != nil {
		return err
	}
	if err := ws.ForceUnlock(ctx, lockID); err != nil {
		return err
	}
	s.audit(ctx, "lock.terraform_force_unlock", target, "", fmt.Sprintf("Terraform state lock %s: %s", lockID, reason))
	return nil
}

// WorkspaceRepos returns the IDs of the config repos that have a Terraform
// workspace for target in the state dir.
func (w *Workflow) WorkspaceRepos(target string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(w.opts.StateDir, "workspaces"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if st, err := os.Stat(w.workspaceDir(e.Name(), target)); err == nil && st.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
