package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/planner/report"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

func newApplyCmd(a *app) *cobra.Command {
	var (
		rf  repoFlags
		sf  stateFlags
		tff terraformFlags
		o   applyOptions
	)
	cmd := &cobra.Command{
		Use:   "apply [PLAN_ID] [--repo PATH|URL] [--auto-approve]",
		Short: "Apply a plan through Terraform, target by target",
		Long: `apply turns a plan into infrastructure changes through Terraform (or
OpenTofu), one workspace per target.

With PLAN_ID it applies exactly that saved plan's plan files, and refuses
when the plan is stale: the config repo moved (new commit or changed files),
or a target's Terraform state changed since the plan was made.

With --repo it plans and applies in one go. It shows the changes and asks
for approval, as terraform does, unless --auto-approve is given; answering
anything but "yes" keeps the plan for a later "meridian apply PLAN_ID".

Targets apply in parallel (--concurrency). A target that fails does not
stop the others; the summary lists what was and was not applied. Workloads
with a blocking finding are frozen at their applied replicas. Targets
without a Terraform module are applied only through the GitOps output.

Once every Terraform target is applied, the plan's Argo CD and Crossplane
manifests are committed to the deploy repo (deploy.repo, or a local bare
repository in the state dir), moving workloads make-before-break; moves in
progress are kept in the store. Re-applying an unchanged plan makes no
commit. When a Terraform target fails, the deploy repo is left as it was.

Each target is locked in the store while it is planned and applied: a
second run on the same target fails at once naming the holder, or waits
up to --lock-timeout. A killed run's lock is taken over when its lease
(--lock-lease) expires.

A target or workload that left the config is decommissioned: the plan's
destroy section shows the destroy plan of a removed target's Terraform
workspace, the deploy-repo files pruned and the Crossplane resources
deleted, each with its deletion policy. Applying it needs consent:
--allow-destroy, a "meridian approve-destroy" in the pull request, or an
operator's POST /api/v1/plans/PLAN_ID/approve-destroy. Without it, apply
refuses before touching anything and names every target and workload it
would destroy. A target marked protect: true is never destroyed.
Orphaned Terraform workspaces with no state are removed after
--workspace-retention.

Exit status: 0 applied; 1 a target failed or could not be applied, the
deploy repo could not be written, or an error; 2 refused (stale plan, lock
held, destroy without consent).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tableOrJSON(o.format); err != nil {
				return err
			}
			switch {
			case len(args) == 1 && rf.repo != "":
				return &exitErr{code: exitError, err: errors.New("give either PLAN_ID or --repo, not both")}
			case len(args) == 0 && rf.repo == "":
				return &exitErr{code: exitError, err: errors.New("give a PLAN_ID to apply, or --repo to plan and apply")}
			}
			ctx := cmd.Context()
			wf, db, err := a.openWorkflow(ctx, &sf, &tff)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer db.Close()
			var res *controlplane.ApplyOutcome
			if len(args) == 1 {
				res, err = a.applySaved(ctx, wf, db, &rf, &sf, args[0], &o)
			} else {
				res, err = a.planAndApply(ctx, wf, db, &rf, &sf, &o)
			}
			if err != nil {
				return applyExit(err)
			}
			if res == nil {
				return nil
			}
			if o.format == "json" {
				if err := writeJSON(a.stdout, res); err != nil {
					return err
				}
			} else {
				writeApplyResult(a.stdout, res.ApplyResult)
				writeDeployStep(a.stdout, res.Deploy)
				writeWorkspaceGC(a.stdout, res.Workspaces)
			}
			if res.Failed() {
				return &exitErr{code: exitError}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rf.repo, "repo", "", "config repo to plan and apply: a directory or a Git URL")
	cmd.Flags().StringVar(&rf.ref, "ref", "", "branch, tag or commit to read from a Git URL")
	cmd.Flags().StringVar(&rf.cacheDir, "cache-dir", "", "where Git clones are cached (default: ~/.cache/meridian/repos)")
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "apply without asking for approval")
	cmd.Flags().StringVar(&o.format, "format", "table", "output format of the result: table or json")
	o.register(cmd)
	sf.register(cmd)
	tff.register(cmd, false)
	registerPlanRetention(cmd.Flags(), &sf.planRetention)
	return cmd
}

// applyExit maps refusals to exit 2 and everything else to 1.
func applyExit(err error) error {
	var refused *workflow.RefusedError
	if errors.As(err, &refused) || store.IsLockHeld(err) {
		return &exitErr{code: exitBlocked, err: err}
	}
	if msg, ok := configErrorList(err); ok {
		return &exitErr{code: exitError, err: errors.New(msg)}
	}
	return &exitErr{code: exitError, err: err}
}

// planAndApply is `meridian apply --repo`: plan with Terraform under the
// target locks, show the changes, ask, apply, commit the deploy tree, all
// in one session so that nobody can apply in between.
func (a *app) planAndApply(ctx context.Context, wf *workflow.Workflow, st store.Store, rf *repoFlags, sf *stateFlags, o *applyOptions) (res *controlplane.ApplyOutcome, err error) {
	l, err := rf.load(ctx, a)
	if err != nil {
		return nil, err
	}
	src, err := source(l, rf.ref)
	if err != nil {
		return nil, err
	}
	current, err := workflow.Current(ctx, wf.Store(), src.RepoID())
	if err != nil {
		return nil, err
	}
	dopts, err := a.deployOptions(sf, st)
	if err != nil {
		return nil, err
	}
	sess, err := wf.Begin(ctx, store.RunApply, src, workflow.ModeApply)
	if err != nil {
		return nil, err
	}
	defer func() { controlplane.CloseApply(sess, err, res) }()
	p, err := planner.New(planner.WithLogger(a.logger), planner.WithTerraform(sess), planner.WithDeploy(deploy.Previewer{Options: dopts}),
		planner.WithTracerProvider(a.tracerProvider()))
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan(ctx, l.input(current))
	if err != nil {
		return nil, err
	}
	if err := sess.SavePlan(ctx, plan); err != nil {
		return nil, err
	}
	out := a.stdout
	if o.format == "json" {
		out = a.stderr // stdout holds exactly one JSON document
	}
	writePlanSummary(out, plan, l.cfg)
	// Consent to destroy is checked before the question: without it the
	// apply is refused (exit 2), and the saved plan waits for consent.
	consent, err := controlplane.LoadConsent(ctx, st, src.RepoID(), owner().Actor, o.allowDestroy)
	if err != nil {
		return nil, err
	}
	used, err := controlplane.CheckConsent(ctx, a.logger, st, owner().Actor, src.RepoID(), sess.RunID(), plan, consent)
	if err != nil {
		fmt.Fprintf(out, "\nNot applied: the plan destroys what left the config, without consent. Pass --allow-destroy (meridian apply %s --allow-destroy applies this saved plan).\n", plan.ID)
		return nil, err
	}
	if !anyChanges(plan) {
		fmt.Fprintln(out, "\nNo changes. The infrastructure and the deploy repo match the plan; recording it in the ledger.")
	} else if !o.autoApprove {
		ok, err := confirm(a.stdin, out, plan.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			fmt.Fprintf(out, "\nApply cancelled. The plan is saved: meridian apply %s\n", plan.ID)
			return nil, workflow.ErrNotApproved
		}
	}
	// The history (events, applied cost) records CLI applies as the
	// server records its own.
	rec := controlplane.NewRecorder(st, controlplane.RecorderOptions{})
	hist := controlplane.HistoryApply{RepoID: src.RepoID(), Branch: src.Ref, RunID: sess.RunID(), Config: l.cfg, Plan: plan}
	controlplane.RecordApplyStart(ctx, rec, a.logger, hist)
	defer func() {
		controlplane.RecordApplyEnd(ctx, rec, a.logger, hist, controlplane.OutcomeFailure(hist, res, err))
	}()
	tf, err := sess.Apply(ctx, plan.ID, nil)
	if err != nil {
		return nil, err
	}
	res = &controlplane.ApplyOutcome{ApplyResult: tf, Deploy: controlplane.ApplyDeploy(ctx, a.logger, st, owner().Actor, src.RepoID(), l.cfg, plan, tf, dopts, sess)}
	res.Workspaces = controlplane.Decommission(ctx, a.logger, st, sess, l.cfg, plan, consent, used, res, o.workspaceRetention)
	return res, nil
}

// applySaved is `meridian apply PLAN_ID`.
func (a *app) applySaved(ctx context.Context, wf *workflow.Workflow, st store.Store, rf *repoFlags, sf *stateFlags, planID string, o *applyOptions) (*controlplane.ApplyOutcome, error) {
	dopts, err := a.deployOptions(sf, st)
	if err != nil {
		return nil, err
	}
	res, _, err := controlplane.ApplySavedPlan(ctx, wf, st, controlplane.SavedApply{PlanID: planID, Actor: owner().Actor,
		CacheDir: rf.cacheDir, Deploy: dopts, Logger: a.logger, Recorder: controlplane.NewRecorder(st, controlplane.RecorderOptions{}),
		AllowDestroy: o.allowDestroy, WorkspaceRetention: o.workspaceRetention, TracerProvider: a.tracerProvider()})
	return res, err
}

// anyChanges reports whether applying p would change anything: a Terraform
// target, or the deploy repo (or it could not tell).
func anyChanges(p *meridian.Plan) bool {
	if d := p.Deploy; d != nil && (len(d.Files) > 0 || d.Error != "") {
		return true
	}
	for _, c := range p.Terraform {
		if c.HasChanges() {
			return true
		}
	}
	return false
}

// confirm asks as terraform does: only "yes" approves.
func confirm(in io.Reader, out io.Writer, planID string) (bool, error) {
	fmt.Fprintf(out, "\nDo you want to apply plan %s?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", planID)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read approval: %w", err)
	}
	fmt.Fprintln(out)
	return strings.TrimSpace(line) == "yes", nil
}

// writePlanSummary shows what apply is about to do, per target, with the
// resource addresses as terraform shows them (+ create, ~ update,
// -/+ replace, - destroy).
func writePlanSummary(w io.Writer, p *meridian.Plan, cfg *meridian.Config) {
	commit := p.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "(no commit)"
	}
	if p.Dirty {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "Plan %s of %s at %s\n", p.ID, p.Repo, commit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTARGET\tADD\tCHANGE\tREPLACE\tDESTROY\tSTATUS")
	for _, c := range p.Terraform {
		status := c.Status
		if c.HasChanges() && len(c.Add)+len(c.Change)+len(c.Replace)+len(c.Destroy) == 0 {
			status += " (outputs only)"
		}
		if c.Error != "" {
			status += ": " + firstLine(c.Error)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", c.Target, len(c.Add), len(c.Change), len(c.Replace), len(c.Destroy), status)
	}
	tw.Flush()
	for _, c := range p.Terraform {
		if !c.HasChanges() {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", c.Target)
		for _, s := range []struct {
			sym   string
			addrs []string
		}{{"  +", c.Add}, {"  ~", c.Change}, {"-/+", c.Replace}, {"  -", c.Destroy}, {"  ~ output", c.Outputs}} {
			for _, a := range s.addrs {
				fmt.Fprintf(w, "  %s %s\n", s.sym, a)
			}
		}
	}
	for _, c := range p.Terraform {
		for _, f := range c.Frozen {
			fmt.Fprintf(w, "\nFrozen: %s on %s is held at %d replicas (the plan wants %d) until its blocking finding is fixed.",
				f.Workload, c.Target, f.Replicas, f.Planned)
		}
	}
	var gitopsOnly []string
	for _, t := range cfg.Targets {
		if t.Engine != meridian.EngineTerraform || t.Terraform == nil {
			gitopsOnly = append(gitopsOnly, t.Name)
		}
	}
	if len(gitopsOnly) > 0 {
		fmt.Fprintf(w, "\nNot applied by Terraform (no module; GitOps output only): %s\n", strings.Join(gitopsOnly, ", "))
	}
	writeDeployPreview(w, p.Deploy)
	report.DestroyTable(w, p)
	deny, warn := 0, 0
	for _, f := range p.Findings {
		switch f.Severity {
		case meridian.SeverityDeny:
			deny++
		case meridian.SeverityWarn:
			warn++
		}
	}
	if deny+warn > 0 {
		fmt.Fprintf(w, "\nFindings: %d deny, %d warn (meridian plan lists them).\n", deny, warn)
	}
}

// writeApplyResult says exactly what was and was not applied.
func writeApplyResult(w io.Writer, r *workflow.ApplyResult) {
	fmt.Fprintf(w, "\nApply of plan %s (run %s):\n\n", r.PlanID, r.RunID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tRESULT\tADD\tCHANGE\tDESTROY\tSTATE SERIAL\tTIME")
	for _, t := range r.Targets {
		c := t.Change
		serial := "-"
		if t.StateSerial > 0 {
			serial = fmt.Sprint(t.StateSerial)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", t.Target, strings.ToUpper(strings.ReplaceAll(t.Status, "_", " ")),
			len(c.Add)+len(c.Replace), len(c.Change), len(c.Destroy)+len(c.Replace), serial, t.Duration.Round(10*time.Millisecond))
	}
	tw.Flush()
	for _, t := range r.Targets {
		if t.Error != "" {
			fmt.Fprintf(w, "\n%s: %s\n", t.Target, t.Error)
		}
	}
	done := r.Count(workflow.Applied) + r.Count(workflow.Unchanged)
	fmt.Fprintf(w, "\n%d of %d targets applied (%d changed, %d unchanged); %d failed, %d interrupted, %d not applied.\n",
		done, len(r.Targets), r.Count(workflow.Applied), r.Count(workflow.Unchanged), r.Count(workflow.Failed),
		r.Count(workflow.Interrupted), r.Count(workflow.NotApplied))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
