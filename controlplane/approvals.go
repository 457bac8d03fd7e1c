package controlplane

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
)

// Approvals keeps the consent given to destroy what left the config
// (store.Decommissions).
type Approvals interface {
	AddDestroyApproval(ctx context.Context, a store.DestroyApproval) (store.DestroyApproval, error)
	DestroyApprovals(ctx context.Context, repoID string) ([]store.DestroyApproval, error)
	SettlePRApprovals(ctx context.Context, repoID string, pr int, mergedHead string) (int, error)
}

// ApproveDestroyCommand is the pull-request command (a comment, or a
// review's body, on a line of its own) by which an approver consents to
// destroying what the pull request's plan decommissions, as Atlantis
// takes `atlantis apply`.
const ApproveDestroyCommand = "meridian approve-destroy"

// IsApproveDestroy reports whether a comment or review body holds the
// approve-destroy command on a line of its own (a leading slash allowed);
// a quoted line ("> meridian approve-destroy") is not a command.
func IsApproveDestroy(body string) bool {
	for _, line := range strings.Split(body, "\n") {
		if strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(line), "/"), ApproveDestroyCommand) {
			return true
		}
	}
	return false
}

// DestroyApproval is an approval as recorded, with the items it covers.
type DestroyApproval struct {
	ID     int64  `json:"id"`
	PlanID string `json:"plan_id"`
	PR     int    `json:"pr,omitempty"`
	Head   string `json:"head,omitempty"`
	Actor  string `json:"actor"`
	Via    string `json:"via"`
	// Items are what the approval consents to destroy.
	Items []meridian.DestroyItem `json:"items"`
}

// ApproveDestroy records actor's consent (an operator's, through the API)
// to destroy what plan planID of the watched branch decommissions, and
// wakes the loop so that an auto_apply waiting for it goes ahead. The
// approval covers that plan only: a later plan needs its own.
func (r *Reconciler) ApproveDestroy(ctx context.Context, planID, actor string) (*DestroyApproval, error) {
	rec, plan, err := r.SavedPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	if rec.Ref != r.branchRef() && rec.Ref != r.opts.Branch {
		return nil, meridian.Errorf(meridian.ECONFLICT, "plan %s is of %q, not of branch %s: only plans of the watched branch are applied, so only they are approved",
			planID, rec.Ref, r.opts.Branch)
	}
	items := plan.NeedsDestroyConsent()
	if len(items) == 0 {
		return nil, meridian.Errorf(meridian.EINVALID, "plan %s destroys nothing: it needs no approval", planID)
	}
	a, err := r.st.AddDestroyApproval(ctx, store.DestroyApproval{RepoID: r.opts.RepoID, PlanID: planID, Items: keys(items), Actor: actor, Via: store.ApprovalAPI})
	if err != nil {
		return nil, err
	}
	r.audit(ctx, store.AuditEvent{Actor: actor, Action: "destroy.approved", PlanID: planID, Detail: "through the API: " + strings.Join(a.Items, ", ")})
	r.poke()
	return &DestroyApproval{ID: a.ID, PlanID: planID, Actor: actor, Via: a.Via, Items: items}, nil
}

func keys(items []meridian.DestroyItem) []string {
	out := make([]string, len(items))
	for i, d := range items {
		out[i] = d.Key()
	}
	return out
}

// poke wakes the loop without waiting for its sync.
func (r *Reconciler) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// PRApproval is a pull-request comment or review that holds the
// approve-destroy command.
type PRApproval struct {
	// Repo is the repository's OWNER/NAME.
	Repo string
	PR   int
	// Actor is the GitHub login of the comment's or review's author.
	Actor string
	// Head is the commit a review was given on; empty for a comment,
	// which approves the head of the pull request's newest report.
	Head string
}

// Outcomes of ApprovePRDestroy.
const (
	ApprovalRecorded     = "approved"
	ApprovalUnauthorized = "unauthorized"
	ApprovalNothing      = "nothing_to_approve"
	ApprovalNotReady     = "not_ready"
)

// ApprovePRDestroy handles the approve-destroy command in a pull request:
// from a login in PROptions.DestroyApprovers, it records consent to
// destroy what the plan of the pull request's newest report
// decommissions, for that head. The approval takes effect when the pull
// request is merged with that head (SettlePR); a push makes it stale. The
// author is answered in a comment either way. It returns the outcome.
func (r *Reconciler) ApprovePRDestroy(ctx context.Context, a PRApproval) (string, error) {
	reply := func(outcome, body string) (string, error) {
		r.audit(ctx, store.AuditEvent{Actor: "github:" + a.Actor, Action: "destroy.pr_command",
			Detail: fmt.Sprintf("%s#%d: %s", a.Repo, a.PR, outcome)})
		gh := r.opts.PR.GitHub
		if gh == nil {
			return outcome, nil
		}
		repo, err := github.ParseRepo(a.Repo)
		if err != nil {
			return outcome, err
		}
		if _, err := gh.CreateComment(ctx, repo, a.PR, body); err != nil {
			return outcome, fmt.Errorf("PR #%d: answer %s: %w", a.PR, ApproveDestroyCommand, err)
		}
		return outcome, nil
	}
	if !slices.ContainsFunc(r.opts.PR.DestroyApprovers, func(s string) bool { return strings.EqualFold(s, a.Actor) }) {
		return reply(ApprovalUnauthorized, fmt.Sprintf("❌ @%s is not allowed to approve destruction here: ask a destroy approver of this Meridian server (`--destroy-approvers`).", a.Actor))
	}
	last, ok, err := r.st.LastComment(ctx, r.opts.RepoID, a.PR)
	if err != nil {
		return "", err
	}
	if !ok || last.PlanID == "" {
		return reply(ApprovalNotReady, "⏳ There is no Meridian plan of this pull request yet: comment again once its report is posted.")
	}
	rec, plan, err := r.SavedPlan(ctx, last.PlanID)
	if err != nil {
		return "", err
	}
	if latest := r.latestPRHead(a.PR); (a.Head != "" && a.Head != rec.Commit) || (latest != "" && latest != rec.Commit) {
		return reply(ApprovalNotReady, fmt.Sprintf("⏳ The report is of %s, not of the newest head: approve again once the report of the newest head is posted.", codeSpan(short(rec.Commit))))
	}
	items := plan.NeedsDestroyConsent()
	if len(items) == 0 {
		return reply(ApprovalNothing, fmt.Sprintf("ℹ️ Plan `%s` of this pull request destroys nothing: no approval is needed.", plan.ID))
	}
	ap, err := r.st.AddDestroyApproval(ctx, store.DestroyApproval{RepoID: r.opts.RepoID, PlanID: plan.ID, PR: a.PR, Head: rec.Commit,
		Items: keys(items), Actor: "github:" + a.Actor, Via: store.ApprovalPR})
	if err != nil {
		return "", err
	}
	r.audit(ctx, store.AuditEvent{Actor: "github:" + a.Actor, Action: "destroy.approved", PlanID: plan.ID,
		Detail: fmt.Sprintf("%s#%d at %s: %s", a.Repo, a.PR, short(rec.Commit), strings.Join(ap.Items, ", "))})
	var b strings.Builder
	fmt.Fprintf(&b, "✅ @%s approved destroying, for plan `%s` at %s:\n\n", a.Actor, plan.ID, codeSpan(short(rec.Commit)))
	for _, d := range items {
		fmt.Fprintf(&b, "- %s `%s`: %s\n", d.Kind, d.Name, d.Summary())
	}
	b.WriteString("\nThe approval takes effect when this pull request is merged at this head; a new push needs a new approval.\n")
	return reply(ApprovalRecorded, b.String())
}

// SettlePR settles a closed pull request's destroy approvals: merged, the
// approvals of its merged head take effect (and the loop is woken, so
// that an auto_apply waiting for them goes ahead); closed unmerged, they
// are revoked.
func (r *Reconciler) SettlePR(ctx context.Context, ev *github.PullRequestEvent) (int, error) {
	head := ""
	if ev.PullRequest.Merged {
		head = ev.PullRequest.Head.SHA
	}
	n, err := r.st.SettlePRApprovals(ctx, r.opts.RepoID, ev.Number, head)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		r.audit(ctx, store.AuditEvent{Actor: r.opts.Actor, Action: "destroy.approval_effective",
			Detail: fmt.Sprintf("%s#%d merged at %s: %d approval(s)", ev.Repository.FullName, ev.Number, short(head), n)})
		r.poke()
	}
	return n, nil
}

// awaitingConsent reports whether the branch's plan p waits for consent
// to destroy: auto_apply then leaves it (saying so once in the audit log)
// until an approval arrives.
func (r *Reconciler) awaitingConsent(ctx context.Context, p *meridian.Plan) (bool, error) {
	if len(p.NeedsDestroyConsent()) == 0 {
		return false, nil
	}
	approvals, err := r.st.DestroyApprovals(ctx, r.opts.RepoID)
	if err != nil {
		return false, fmt.Errorf("read destroy approvals: %w", err)
	}
	_, err = Consent{Approvals: approvals}.Check(p)
	if err == nil {
		return false, nil
	}
	r.mu.Lock()
	key := "consent\x00" + p.ID
	first := !r.skipped[key]
	r.skipped[key] = true
	r.mu.Unlock()
	if first {
		r.metrics.applies.WithLabelValues("auto", "awaiting_consent").Inc()
		r.audit(ctx, store.AuditEvent{Actor: r.opts.Actor, Action: "apply.awaiting_consent", PlanID: p.ID, Detail: "auto_apply: " + err.Error()})
	}
	return true, nil
}
