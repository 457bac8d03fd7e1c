package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// DefaultWorkspaceRetention is how long an orphaned Terraform workspace
// (its target decommissioned, or planned and never applied) is kept once
// its state holds nothing.
const DefaultWorkspaceRetention = 7 * 24 * time.Hour

// Consent is what an apply has of consent to destroy the targets and
// workloads its plan decommissions (meridian.Plan.Destroy).
type Consent struct {
	// All consents to everything: meridian apply --allow-destroy.
	All bool
	// Actor is who applies, named in the approvals an apply carries over.
	Actor string
	// Approvals are the repo's open destroy approvals
	// (store.Decommissions.DestroyApprovals). One given through the API
	// covers its own plan; one given in a pull request covers its items in
	// any plan once the pull request merged with the approved head.
	Approvals []store.DestroyApproval
}

// Check returns the approvals that consent to destroying plan's
// unprotected items and that the apply uses up, or a *DestroyConsentError
// naming every item that has no consent. A plan that destroys nothing
// needs none. An approval that covers an item whose files wait for moves
// to complete is not used up: it also consents to the later apply that
// completes them.
func (c Consent) Check(plan *meridian.Plan) (used []int64, err error) {
	need := plan.NeedsDestroyConsent()
	if len(need) == 0 || c.All {
		return nil, nil
	}
	var missing []meridian.DestroyItem
	covering, kept := map[int64]bool{}, map[int64]bool{}
	for _, d := range need {
		covered := false
		for _, a := range c.Approvals {
			if !approvalApplies(a, plan.ID) || !slices.Contains(a.Items, d.Key()) {
				continue
			}
			covered, covering[a.ID] = true, true
			kept[a.ID] = kept[a.ID] || len(d.Moving) > 0
		}
		if !covered {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return nil, &DestroyConsentError{PlanID: plan.ID, Items: missing}
	}
	for _, a := range c.Approvals {
		if covering[a.ID] && !kept[a.ID] {
			used = append(used, a.ID)
		}
	}
	return used, nil
}

func approvalApplies(a store.DestroyApproval, planID string) bool {
	switch {
	case a.Via == store.ApprovalCarried:
		return true
	case a.PR > 0:
		return !a.MergedAt.IsZero()
	}
	return a.PlanID == planID
}

// DestroyConsentError is an apply refused before it touched anything
// because its plan destroys targets or workloads nobody consented to
// destroy. It unwraps to a *workflow.RefusedError: the CLI exits 2, the API
// answers 409, and the run is recorded as refused.
type DestroyConsentError struct {
	PlanID string
	// Items are the unprotected items without consent.
	Items []meridian.DestroyItem
}

func (e *DestroyConsentError) Error() string {
	names := make([]string, len(e.Items))
	for i, d := range e.Items {
		names[i] = fmt.Sprintf("%s %s (%s)", d.Kind, d.Name, d.Summary())
	}
	return fmt.Sprintf("plan %s destroys what left the config, without consent: %s. Nothing was applied. "+
		"To consent: meridian apply %s --allow-destroy, a `meridian approve-destroy` comment in the pull request, "+
		"or POST /api/v1/plans/%s/approve-destroy; or put them back in the config (protect: true keeps a target)",
		e.PlanID, strings.Join(names, "; "), e.PlanID, e.PlanID)
}

// Unwrap makes the refusal a *workflow.RefusedError.
func (e *DestroyConsentError) Unwrap() error { return &workflow.RefusedError{Reason: e.Error()} }

// LoadConsent returns the consent actor's apply of a repo has: all, and
// the repo's open destroy approvals.
func LoadConsent(ctx context.Context, st store.Decommissions, repoID, actor string, all bool) (Consent, error) {
	c := Consent{All: all, Actor: actor}
	var err error
	if c.Approvals, err = st.DestroyApprovals(ctx, repoID); err != nil {
		return c, fmt.Errorf("read destroy approvals: %w", err)
	}
	return c, nil
}

// CheckConsent refuses plan, recording the refusal in the audit log,
// unless every item it destroys has consent (see Consent.Check).
func CheckConsent(ctx context.Context, log *slog.Logger, st store.Audit, actor, repoID, runID string, plan *meridian.Plan, c Consent) ([]int64, error) {
	used, err := c.Check(plan)
	if err != nil {
		if aerr := st.AppendAudit(context.WithoutCancel(ctx), store.AuditEvent{RepoID: repoID, Actor: actor, Action: "apply.refused",
			PlanID: plan.ID, RunID: runID, Detail: err.Error()}); aerr != nil {
			log.Warn("audit", "action", "apply.refused", "err", aerr)
		}
	}
	return used, err
}

// WorkspaceGC is what an apply's collection of orphaned Terraform
// workspaces did.
type WorkspaceGC struct {
	// Removed are the targets whose workspace was removed.
	Removed []string `json:"removed,omitempty"`
	// Kept are orphaned workspaces whose state still holds resources:
	// Meridian never removes them.
	Kept  []string `json:"kept,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Decommission is an apply's part in decommissioning, after Terraform and
// the deploy repo: it remembers every configured target's protect flag
// (so that removing a protected target does not unprotect it), settles
// the approvals once the whole apply succeeded, and removes the orphaned
// workspaces past retention (retention <= 0: none). None of it fails the
// apply; problems are logged and reported.
//
// Settling the approvals: those it used (Consent.Check) are marked used;
// the consent it had to destroy items whose files wait for moves is
// carried over by name, so that the applies that complete the moves need
// no new consent; carried consent for items that are gone expires.
func Decommission(ctx context.Context, log *slog.Logger, st store.Decommissions, sess *workflow.Session, cfg *meridian.Config,
	plan *meridian.Plan, consent Consent, used []int64, res *ApplyOutcome, retention time.Duration) *WorkspaceGC {
	ctx = context.WithoutCancel(ctx)
	protect := map[string]bool{}
	for _, t := range cfg.Targets {
		protect[t.Name] = t.Protect
	}
	if err := st.SaveProtection(ctx, sess.RepoID(), protect); err != nil {
		log.Error("remember protected targets", "err", err)
	}
	if res != nil && !res.Failed() {
		if err := settleApprovals(ctx, st, sess.RepoID(), plan, consent, used); err != nil {
			log.Error("settle destroy approvals", "plan", plan.ID, "err", err)
		}
	}
	gc := &WorkspaceGC{}
	removed, kept, err := sess.CollectWorkspaces(ctx, cfg, retention, time.Now())
	gc.Removed, gc.Kept = removed, kept
	if err != nil {
		gc.Error = err.Error()
		log.Error("collect orphaned workspaces", "err", err)
	}
	if len(gc.Removed)+len(gc.Kept) == 0 && gc.Error == "" {
		return nil
	}
	return gc
}

// settleApprovals does Decommission's part for the approvals of a
// succeeded apply of plan.
func settleApprovals(ctx context.Context, st store.Decommissions, repoID string, plan *meridian.Plan, consent Consent, used []int64) error {
	need := map[string]meridian.DestroyItem{}
	for _, d := range plan.NeedsDestroyConsent() {
		need[d.Key()] = d
	}
	carried := map[string]bool{}
	for _, a := range consent.Approvals {
		if a.Via != store.ApprovalCarried {
			continue
		}
		alive := false
		for _, k := range a.Items {
			carried[k] = true
			_, ok := need[k]
			alive = alive || ok
		}
		if !alive {
			used = append(used, a.ID)
		}
	}
	if err := st.UseDestroyApprovals(ctx, repoID, used, plan.ID); err != nil {
		return err
	}
	var carry []string
	for k, d := range need {
		if len(d.Moving) > 0 && !carried[k] {
			carry = append(carry, k)
		}
	}
	if len(carry) == 0 {
		return nil
	}
	slices.Sort(carry)
	_, err := st.AddDestroyApproval(ctx, store.DestroyApproval{RepoID: repoID, PlanID: plan.ID, Items: carry, Actor: consent.Actor, Via: store.ApprovalCarried})
	return err
}
