package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/planner/report"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
)

// GitHub is what pull-request reports need from GitHub's REST API;
// *github.Client implements it.
type GitHub interface {
	CreateComment(ctx context.Context, r github.Repo, number int, body string) (github.Comment, error)
	UpdateComment(ctx context.Context, r github.Repo, id int64, body string) (github.Comment, error)
	FindComment(ctx context.Context, r github.Repo, number int, marker string) (github.Comment, bool, error)
	CreateStatus(ctx context.Context, r github.Repo, sha string, s github.Status) error
}

// PROptions configures pull-request reports.
type PROptions struct {
	// GitHub posts comments and statuses. Nil means reports are planned
	// and stored but not posted.
	GitHub GitHub
	// Repo, when set, is the one repository (OWNER/NAME) whose events are
	// handled; others are ignored.
	Repo string
	// TerraformRepos are the repositories (OWNER/NAME) whose pull-request
	// heads get Terraform plans. Modules can run code, so heads from
	// anywhere else (forks above all) are planned without Terraform.
	TerraformRepos []string
	// DestroyApprovers are the GitHub logins whose `meridian
	// approve-destroy` comment or review consents to destroying what a
	// pull request's plan decommissions. Empty: consent comes only from
	// the API or the CLI.
	DestroyApprovers []string
	// ConfigPath is the config root's folder inside the repository, for
	// links to files.
	ConfigPath string
	// StatusContext names the commit status (default meridian/plan).
	StatusContext string
	// PublicURL is the server's external URL, for links to plans.
	PublicURL string
}

// PRResult is the outcome of reviewing one pull-request head.
type PRResult struct {
	PR       int    `json:"pr"`
	Head     string `json:"head"`
	PlanID   string `json:"plan_id"`
	RunID    string `json:"run_id,omitempty"`
	Blocking bool   `json:"blocking"`
	// Comment is created, updated, unchanged, stale (a newer head was
	// seen) or not_posted (no GitHub client).
	Comment   string `json:"comment"`
	CommentID int64  `json:"comment_id,omitempty"`
	// Body is the rendered report.
	Body string `json:"-"`
}

// commentMarker finds the server's comment again. It names the config
// repo, so that two Meridian servers on one GitHub repo keep one comment
// each.
func (r *Reconciler) commentMarker() string {
	return "<!-- meridian:pr-report repo=" + r.opts.RepoID + " -->"
}

// HandlesRepo reports whether events of GitHub repository full
// (OWNER/NAME) are this reconciler's: PROptions.Repo, or any when unset.
func (r *Reconciler) HandlesRepo(full string) bool {
	return r.opts.PR.Repo == "" || strings.EqualFold(r.opts.PR.Repo, full)
}

// ReviewPR plans a pull request's head against its base and posts one
// report: a comment (edited on later pushes) and a commit status. The
// head's policies do not judge the head: the plan uses the base's policies,
// and when the head changes them, a preview shows what they would find.
// Deliveries for the same head share one review, and a head is reviewed
// once.
func (r *Reconciler) ReviewPR(ctx context.Context, ev *github.PullRequestEvent) (*PRResult, error) {
	pr := ev.PullRequest
	r.mu.Lock()
	r.notePRHead(ev.Number, pr.Head.SHA)
	r.mu.Unlock()
	key := strings.Join([]string{"pr", ev.Repository.FullName, strconv.Itoa(ev.Number), pr.Head.SHA, pr.Base.SHA}, "\x00")
	ch := r.flight.DoChan(key, func() (any, error) {
		if res, ok := r.reviews.get(key); ok {
			return res, nil
		}
		done, err := r.track()
		if err != nil {
			return nil, err
		}
		defer done()
		select {
		case r.prSlots <- struct{}{}:
			defer func() { <-r.prSlots }()
		case <-r.baseContext().Done():
			return nil, ErrShutdown
		}
		rctx, cancel := r.budget(fmt.Sprintf("review of PR #%d", ev.Number), r.opts.PRTimeout)
		defer cancel()
		rctx, span := r.tracer.Start(traced(rctx, ctx), "pr.review", trace.WithAttributes(attribute.String("meridian.repo", ev.Repository.FullName),
			attribute.Int("meridian.pr", ev.Number), attribute.String("meridian.head", pr.Head.SHA)))
		res, err := r.review(rctx, ev)
		err = overBudget(rctx, err)
		telemetry.End(span, err)
		if err != nil {
			r.metrics.loopErrors.WithLabelValues("pull_request").Inc()
			return nil, err
		}
		r.reviews.put(key, res)
		return res, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*PRResult), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// notePRHead remembers the newest head seen per pull request, so that a
// slow review of an older head does not overwrite a newer report. Callers
// hold r.mu.
func (r *Reconciler) notePRHead(pr int, sha string) {
	if r.prHeads == nil {
		r.prHeads = map[int]string{}
	}
	r.prHeads[pr] = sha
}

func (r *Reconciler) latestPRHead(pr int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prHeads[pr]
}

func (r *Reconciler) review(ctx context.Context, ev *github.PullRequestEvent) (*PRResult, error) {
	pr := ev.PullRequest
	base, err := r.loadFirst(ctx, pr.Base.SHA, "refs/heads/"+pr.Base.Ref)
	if err != nil {
		return nil, fmt.Errorf("PR #%d: read base %s: %w", ev.Number, pr.Base.Ref, err)
	}
	head, err := r.loadFirst(ctx, pr.Head.SHA, fmt.Sprintf("refs/pull/%d/head", ev.Number))
	var ces meridian.ConfigErrors
	if errors.As(err, &ces) {
		return r.reportConfigErrors(ctx, ev, ces)
	}
	if err != nil {
		return nil, fmt.Errorf("PR #%d: read head %s: %w", ev.Number, short(pr.Head.SHA), err)
	}
	if head.Commit != pr.Head.SHA {
		return nil, meridian.Errorf(meridian.ECONFLICT, "PR #%d: head moved to %s; a newer delivery will report it", ev.Number, short(head.Commit))
	}
	cfg, policyChanged := meridian.ReviewConfig(base.Config, head.Config)
	tf := TerraformOff
	if pr.Head.Repo != nil && slices.ContainsFunc(r.opts.PR.TerraformRepos, func(s string) bool { return strings.EqualFold(s, pr.Head.Repo.FullName) }) {
		tf = TerraformUntrusted
	}
	after, err := r.planSnapshot(ctx, head, cfg, tf, "pull_request")
	if err != nil {
		return nil, fmt.Errorf("PR #%d: plan head: %w", ev.Number, err)
	}
	c := &report.Comparison{
		Title:         fmt.Sprintf("PR #%d %s → %s", ev.Number, codeSpan(pr.Head.Ref), codeSpan(pr.Base.Ref)),
		After:         after.Plan,
		PolicyChanged: policyChanged,
	}
	if ev.Repository.HTMLURL != "" {
		c.BlobURL = strings.TrimSuffix(ev.Repository.HTMLURL, "/") + "/blob/" + pr.Head.SHA
		if p := strings.Trim(r.opts.PR.ConfigPath, "/"); p != "" {
			c.BlobURL += "/" + p
		}
	}
	if policyChanged {
		// The preview runs the head's own Rego, under the same restricted
		// capabilities as every policy, on the base's outward settings.
		preview, err := r.planner.Plan(ctx, PlanInput{Snapshot: head, Config: meridian.PreviewConfig(base.Config, head.Config), Current: nil, Terraform: TerraformOff, Actor: r.opts.Actor})
		if err != nil {
			// The head's own policies may not even compile: say so
			// instead of failing the report.
			preview = &PlanOutput{Plan: &meridian.Plan{Findings: []meridian.Finding{{Rule: "MER-POLICY-PREVIEW", Severity: meridian.SeverityWarn,
				Message: "this pull request's policies could not be evaluated: " + previewError(err)}}}}
		}
		c.Preview = preview.Plan.Findings
	}
	if tf == TerraformOff && hasTerraformTargets(cfg) {
		c.TerraformSkipped = "Terraform modules can run code, so pull-request heads are planned with Terraform only for repositories on the server's allowlist (--pr-terraform-repos)."
	}
	if c.Before, c.BeforeSource, err = r.before(ctx, base, pr.Base.Ref); err != nil {
		return nil, fmt.Errorf("PR #%d: %w", ev.Number, err)
	}
	c.After = forComment(after.Plan)
	res := &PRResult{PR: ev.Number, Head: pr.Head.SHA, PlanID: after.Plan.ID, RunID: after.RunID, Blocking: after.Plan.Blocking()}
	var body bytes.Buffer
	footer := fmt.Sprintf("<sub>Meridian plan `%s` · reproduce with `meridian plan --repo … --base %s --head %s --format markdown`",
		after.Plan.ID, short(base.Commit), short(head.Commit))
	if u := r.opts.PR.PublicURL; u != "" {
		footer += fmt.Sprintf(" · [API](%s/api/v1/plans/%s)", strings.TrimSuffix(u, "/"), after.Plan.ID)
	}
	footer += "</sub>"
	if err := report.CompareMarkdown(&body, c, report.CompareOptions{Marker: r.commentMarker(), Footer: footer}); err != nil {
		return nil, err
	}
	res.Body = body.String()
	if err := r.publish(ctx, ev, res, statusText(c)); err != nil {
		return nil, err
	}
	return res, nil
}

// reportConfigErrors posts a report listing the head's config errors, and
// a failing status: there is nothing to plan until they are fixed.
func (r *Reconciler) reportConfigErrors(ctx context.Context, ev *github.PullRequestEvent, ces meridian.ConfigErrors) (*PRResult, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n### Meridian plan: PR #%d\n\n❌ **The config at %s has %d error(s)**; nothing was planned.\n\n| Location | Field | Problem |\n|---|---|---|\n",
		r.commentMarker(), ev.Number, codeSpan(short(ev.PullRequest.Head.SHA)), len(ces))
	for i, e := range ces {
		if b.Len() > report.GitHubCommentLimit-500 {
			fmt.Fprintf(&b, "\n_…and %d more._\n", len(ces)-i)
			break
		}
		loc := e.File
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", loc, cellText(e.Field), cellText(e.Message))
	}
	res := &PRResult{PR: ev.Number, Head: ev.PullRequest.Head.SHA, Blocking: true, Body: b.String()}
	if err := r.publish(ctx, ev, res, fmt.Sprintf("Blocked: %d config error(s)", len(ces))); err != nil {
		return nil, err
	}
	return res, nil
}

func cellText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func hasTerraformTargets(cfg *meridian.Config) bool {
	for _, t := range cfg.Targets {
		if t.Engine == meridian.EngineTerraform && t.Terraform != nil {
			return true
		}
	}
	return false
}

// loadFirst loads the first ref that resolves: a SHA from the payload, then
// a name for it (the base branch, or GitHub's refs/pull/N/head, which the
// mirror fetches on demand for heads that live in forks).
func (r *Reconciler) loadFirst(ctx context.Context, refs ...string) (*Snapshot, error) {
	var errs []error
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		s, err := r.loader.Load(ctx, ref)
		if err == nil {
			return s, nil
		}
		var ces meridian.ConfigErrors
		if errors.As(err, &ces) {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, meridian.Errorf(meridian.EINVALID, "no ref to load")
	}
	return nil, errs[len(errs)-1]
}

// before is what a pull request is compared with: the applied-state ledger
// when anything was applied, otherwise the base's plan.
func (r *Reconciler) before(ctx context.Context, base *Snapshot, baseRef string) (*meridian.Plan, string, error) {
	entries, err := r.st.LedgerEntries(ctx, r.opts.RepoID)
	if err != nil {
		return nil, "", fmt.Errorf("read ledger: %w", err)
	}
	if len(entries) > 0 {
		p, err := r.appliedPlan(ctx, entries)
		if err != nil {
			return nil, "", err
		}
		return p, fmt.Sprintf("applied state (%d placements)", len(p.Placements)), nil
	}
	out, err := r.planSnapshot(ctx, base, base.Config, TerraformOff, "pull_request")
	if err != nil {
		return nil, "", fmt.Errorf("plan base: %w", err)
	}
	return out.Plan, fmt.Sprintf("plan of base %s @ %s", codeSpan(baseRef), codeSpan(short(base.Commit))), nil
}

// appliedPlan rebuilds what runs from the ledger: each entry's placement,
// priced as in the plan that applied it.
func (r *Reconciler) appliedPlan(ctx context.Context, entries []store.LedgerEntry) (*meridian.Plan, error) {
	out := &meridian.Plan{ID: "applied"}
	for _, e := range entries {
		if e.Replicas <= 0 {
			continue
		}
		_, p, err := r.SavedPlan(ctx, e.PlanID)
		if err != nil {
			return nil, fmt.Errorf("plan %s of the ledger: %w", e.PlanID, err)
		}
		out.Currency = p.Currency
		pl := meridian.Placement{Workload: e.Workload, Target: e.Target, Replicas: e.Replicas}
		for _, x := range p.Placements {
			if x.Workload == e.Workload && x.Target == e.Target {
				pl.MonthlyCost, pl.Cost, pl.Explanation.Reason = x.MonthlyCost, x.Cost, x.Explanation.Reason
			}
		}
		out.Placements = append(out.Placements, pl)
		out.TotalMonthlyCost += pl.MonthlyCost
	}
	return out, nil
}

// publish posts the report and the commit status, one pull request at a
// time so that two heads never both create a comment.
func (r *Reconciler) publish(ctx context.Context, ev *github.PullRequestEvent, res *PRResult, description string) (err error) {
	ctx, span := r.tracer.Start(ctx, "pr.comment", trace.WithAttributes(attribute.Int("meridian.pr", ev.Number)))
	defer func() {
		span.SetAttributes(attribute.String("meridian.comment", res.Comment))
		telemetry.End(span, err)
	}()
	gh := r.opts.PR.GitHub
	if gh == nil {
		res.Comment = "not_posted"
		r.log.WarnContext(ctx, "pull-request report not posted: no GitHub token configured", "pr", ev.Number, "plan", res.PlanID)
		return nil
	}
	repo, err := github.ParseRepo(ev.Repository.FullName)
	if err != nil {
		return err
	}
	mu := r.prLock(ev.Number)
	mu.Lock()
	defer mu.Unlock()
	if latest := r.latestPRHead(ev.Number); latest != "" && latest != res.Head {
		res.Comment = "stale"
		return nil
	}
	if err := r.postComment(ctx, repo, ev.Number, res); err != nil {
		r.metrics.comments.WithLabelValues("failed").Inc()
		return fmt.Errorf("PR #%d: comment: %w", ev.Number, err)
	}
	r.metrics.comments.WithLabelValues(res.Comment).Inc()
	st := github.Status{State: github.StateSuccess, Context: r.opts.PR.StatusContext, Description: description}
	if res.Blocking {
		st.State = github.StateFailure
	}
	if u := r.opts.PR.PublicURL; u != "" && res.PlanID != "" {
		st.TargetURL = strings.TrimSuffix(u, "/") + "/api/v1/plans/" + res.PlanID
	}
	if err := gh.CreateStatus(ctx, repo, res.Head, st); err != nil {
		return fmt.Errorf("PR #%d: commit status: %w", ev.Number, err)
	}
	r.audit(ctx, store.AuditEvent{Actor: r.opts.Actor, Action: "pr.reported", PlanID: res.PlanID,
		Detail: fmt.Sprintf("%s#%d head %s: comment %d %s, status %s", repo, ev.Number, short(res.Head), res.CommentID, res.Comment, st.State)})
	return nil
}

func (r *Reconciler) prLock(pr int) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	mu := r.prLocks[pr]
	if mu == nil {
		mu = &sync.Mutex{}
		r.prLocks[pr] = mu
	}
	return mu
}

// postComment creates the report comment or edits the one posted before,
// found through the store or, failing that, by its hidden marker.
func (r *Reconciler) postComment(ctx context.Context, repo github.Repo, pr int, res *PRResult) error {
	gh := r.opts.PR.GitHub
	sum := sha256.Sum256([]byte(res.Body))
	digest := hex.EncodeToString(sum[:])
	last, ok, err := r.st.LastComment(ctx, r.opts.RepoID, pr)
	if err != nil {
		return err
	}
	var id int64
	if ok {
		id, _ = strconv.ParseInt(last.CommentID, 10, 64)
		if last.BodySHA256 == digest {
			res.Comment, res.CommentID = "unchanged", id
			return r.recordComment(ctx, pr, res, digest)
		}
	} else {
		found, ok, err := gh.FindComment(ctx, repo, pr, r.commentMarker())
		if err != nil {
			return err
		}
		if ok {
			id = found.ID
		}
	}
	if id != 0 {
		cm, err := gh.UpdateComment(ctx, repo, id, res.Body)
		if err == nil {
			res.Comment, res.CommentID = "updated", cm.ID
			return r.recordComment(ctx, pr, res, digest)
		}
		if !github.IsNotFound(err) {
			return err
		}
		// Someone deleted the comment: post a new one.
	}
	cm, err := gh.CreateComment(ctx, repo, pr, res.Body)
	if err != nil {
		return err
	}
	res.Comment, res.CommentID = "created", cm.ID
	return r.recordComment(ctx, pr, res, digest)
}

func (r *Reconciler) recordComment(ctx context.Context, pr int, res *PRResult, digest string) error {
	return r.st.RecordComment(ctx, store.PRComment{RepoID: r.opts.RepoID, PR: pr, PlanID: res.PlanID,
		CommentID: strconv.FormatInt(res.CommentID, 10), BodySHA256: digest, PostedAt: r.now()})
}

// statusText is the commit status description (GitHub keeps 140
// characters).
func statusText(c *report.Comparison) string {
	p := c.After
	if p.Blocking() {
		deny := 0
		for _, f := range p.Findings {
			if f.Blocking() {
				deny++
			}
		}
		return fmt.Sprintf("Blocked: %d deny finding(s), %d unplaceable workload(s)", deny, len(p.Unplaceable))
	}
	var before meridian.Money
	if c.Before != nil {
		before = c.Before.TotalMonthlyCost
	}
	d := p.TotalMonthlyCost - before
	sign := ""
	if d.Round() > 0 {
		sign = "+"
	}
	return fmt.Sprintf("%s/month (%s%s), %d finding(s), none blocking", p.TotalMonthlyCost, sign, d, len(p.Findings))
}

// codeSpan renders a ref name as inline code for the report title.
func codeSpan(s string) string {
	if strings.Contains(s, "`") {
		return "``" + s + "``"
	}
	return "`" + s + "`"
}

// maxPreviewError caps the text of a failed policy preview in a comment.
const maxPreviewError = 2000

// previewError is a failed preview's error as a comment may show it: config
// errors in the head's own files (a Rego compile error, a refused builtin)
// are the author's to fix and are shown, capped; anything else could carry
// text from elsewhere and is reduced to its error code.
func previewError(err error) string {
	var ces meridian.ConfigErrors
	if !errors.As(err, &ces) {
		return "evaluation failed (" + meridian.ErrorCode(err) + "); the server log has the details"
	}
	msg := ces.Error()
	if len(msg) > maxPreviewError {
		msg = msg[:maxPreviewError] + " …"
	}
	return msg
}

// forComment returns the plan as a public pull-request comment may show
// it. Terraform and the deploy preview talk to other hosts (module
// sources, providers, Git servers), and their error texts can carry what
// those hosts answered: a comment says only that the step failed and
// where an authenticated reader finds the details, never the text itself.
func forComment(p *meridian.Plan) *meridian.Plan {
	where := "the server log"
	if p.ID != "" {
		where = "the saved plan (GET /api/v1/plans/" + p.ID + ")"
	}
	out := *p
	if len(p.Terraform) > 0 {
		out.Terraform = slices.Clone(p.Terraform)
		for i := range out.Terraform {
			if out.Terraform[i].Error != "" {
				out.Terraform[i].Error = "Terraform did not plan this target; the error is in " + where
			}
		}
	}
	if len(p.Destroy) > 0 {
		out.Destroy = slices.Clone(p.Destroy)
		for i := range out.Destroy {
			tf := slices.Clone(out.Destroy[i].Terraform)
			for j := range tf {
				if tf[j].Error != "" {
					tf[j].Error = "the error is in " + where
				}
			}
			out.Destroy[i].Terraform = tf
		}
	}
	if p.Deploy != nil && p.Deploy.Error != "" {
		d := *p.Deploy
		d.Error = "the deploy repository preview failed; the error is in " + where
		out.Deploy = &d
	}
	return &out
}
