package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

// observePlan updates the gauges that describe the branch's newest plan.
func (r *Reconciler) observePlan(p *meridian.Plan) {
	r.metrics.findings.Reset()
	for _, f := range p.Findings {
		r.metrics.findings.WithLabelValues(f.Rule, string(f.Severity)).Inc()
	}
	r.metrics.monthlyCost.Reset()
	byTarget := map[string]meridian.Money{}
	for _, pl := range p.Placements {
		byTarget[pl.Target] += pl.MonthlyCost
	}
	for t, c := range byTarget {
		r.metrics.monthlyCost.WithLabelValues(t, p.Currency).Set(float64(c.Round()))
	}
}

// ledger reads the applied-state ledger as the planner wants it.
func (r *Reconciler) ledger(ctx context.Context) (map[string][]string, error) {
	es, err := r.st.LedgerEntries(ctx, r.opts.RepoID)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	out := map[string][]string{}
	for _, e := range es {
		if e.Replicas > 0 {
			out[e.Workload] = append(out[e.Workload], e.Target)
		}
	}
	for _, ts := range out {
		sort.Strings(ts)
	}
	return out, nil
}

// planSnapshot plans cfg (snap's config, or a review config) once per set
// of inputs: the commit, the policies judging it, the ledger, the
// Terraform mode and, for the tracked branch, the open live findings (so
// that an audit opening or resolving one replans the same commit).
// Concurrent callers share one plan; later callers get the remembered one.
// The shared work runs on the server's context, not the first caller's, so
// that one impatient client cannot cancel it for all.
func (r *Reconciler) planSnapshot(ctx context.Context, snap *Snapshot, cfg *meridian.Config, tf TerraformMode, trigger string) (*PlanOutput, error) {
	current, err := r.ledger(ctx)
	if err != nil {
		return nil, err
	}
	var live []meridian.Finding
	if tf == TerraformTrusted {
		if live, err = r.liveFindings(ctx); err != nil {
			return nil, err
		}
	}
	key := planKey(snap, cfg, current, live, tf)
	if out, ok := r.done.get(key); ok {
		return out, nil
	}
	ch := r.flight.DoChan(key, func() (any, error) {
		if out, ok := r.done.get(key); ok {
			return out, nil
		}
		start := r.now()
		pctx, cancel := r.budget("plan", r.opts.PlanTimeout)
		defer cancel()
		out, err := r.planner.Plan(pctx, PlanInput{Snapshot: snap, Config: cfg, Current: current, Live: live, Terraform: tf, Save: true, Actor: r.opts.Actor})
		err = overBudget(pctx, err)
		r.metrics.planDuration.WithLabelValues(trigger).Observe(r.now().Sub(start).Seconds())
		switch {
		case err != nil:
			r.metrics.plans.WithLabelValues(trigger, "error").Inc()
			return nil, err
		case out.Plan.Blocking():
			r.metrics.plans.WithLabelValues(trigger, "blocked").Inc()
		default:
			r.metrics.plans.WithLabelValues(trigger, "clean").Inc()
		}
		if len(skippedTargets(out.Plan)) == 0 {
			// A plan that skipped a locked target is not the plan of
			// these inputs: the next caller plans again.
			r.done.put(key, out)
		}
		return out, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*PlanOutput), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// skippedTargets lists the targets a plan's Terraform step skipped
// because another run held their lock.
func skippedTargets(p *meridian.Plan) []string {
	var out []string
	for _, c := range p.Terraform {
		if c.Status == meridian.ChangeStatusSkipped {
			out = append(out, c.Target)
		}
	}
	return out
}

// liveFindings returns the open live findings of the tracked branch, when
// its plans hold workloads by them (ReconcilerOptions.Live).
func (r *Reconciler) liveFindings(ctx context.Context) ([]meridian.Finding, error) {
	if !r.opts.Live || r.opts.Recorder == nil {
		return nil, nil
	}
	return r.opts.Recorder.OpenLive(ctx, r.opts.RepoID, r.opts.Branch)
}

// planKey hashes everything a plan depends on besides the price catalog,
// which is fixed for the server's lifetime.
func planKey(snap *Snapshot, cfg *meridian.Config, current map[string][]string, live []meridian.Finding, tf TerraformMode) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%v\x00%d\x00", snap.Source, snap.Commit, snap.Dirty, tf)
	for _, p := range cfg.PolicyFiles() {
		fmt.Fprintf(h, "policy %s\x00%s\x00", p, cfg.Policies[p])
	}
	fmt.Fprintf(h, "tags %q %q\x00", cfg.Settings.RequiredTags, sortedPairs(cfg.Settings.TagFormats))
	ws := make([]string, 0, len(current))
	for w := range current {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	for _, w := range ws {
		fmt.Fprintf(h, "ledger %s=%q\x00", w, current[w])
	}
	for _, f := range live {
		// Everything the plan keeps of the finding, message included: a
		// finding raised again with other words is another plan.
		fmt.Fprintf(h, "live %q\x00", []string{f.Rule, string(f.Severity), f.Workload, f.Target, f.Field, f.Resource, f.File, strconv.Itoa(f.Line), f.Message})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (r *Reconciler) baseContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.base
}

// PlanRef plans ref for actor. Only the watched branch is planned with
// Terraform using the server's credentials; other refs are planned without
// Terraform, since their modules are not reviewed code.
func (r *Reconciler) PlanRef(ctx context.Context, ref, actor string) (*PlanOutput, error) {
	r.mu.Lock()
	err := r.idle()
	r.mu.Unlock()
	if err != nil && r.opts.Elected {
		// Plans of the branch are applied by the leader, from its own
		// plan files: a follower's would not be found there.
		return nil, err
	}
	tf := TerraformOff
	if ref == "" || ref == r.opts.Branch || ref == r.branchRef() {
		ref, tf = r.branchRef(), TerraformTrusted
	}
	snap, err := r.loader.Load(ctx, ref)
	if err != nil {
		return nil, err
	}
	out, err := r.planSnapshot(ctx, snap, snap.Config, tf, "api")
	if err != nil {
		return nil, err
	}
	r.audit(ctx, store.AuditEvent{Actor: actor, Action: "plan.requested", PlanID: out.Plan.ID,
		Detail: fmt.Sprintf("ref %s at %s", ref, short(snap.Commit))})
	return out, nil
}

// recordPlan writes a new plan of the watched branch to the history. A
// history that cannot be written is logged, not fatal: the plan itself is
// saved, and the next plan's transition catches the findings up.
func (r *Reconciler) recordPlan(ctx context.Context, snap *Snapshot, p *meridian.Plan) {
	if r.opts.Recorder == nil {
		return
	}
	if _, err := r.opts.Recorder.Planned(ctx, r.opts.RepoID, r.opts.Branch, snap.Commit, snap.Config, p); err != nil {
		r.metrics.loopErrors.WithLabelValues("history").Inc()
		r.log.ErrorContext(ctx, "record plan history", "plan", p.ID, "err", err)
	}
}

// config returns the parsed config at commit, cached.
func (r *Reconciler) config(ctx context.Context, commit string) (*meridian.Config, error) {
	if cfg, ok := r.configs.get(commit); ok {
		return cfg, nil
	}
	if commit == "" {
		return nil, meridian.Errorf(meridian.ECONFLICT, "the plan was not made from a commit; its config cannot be read again")
	}
	snap, err := r.loader.Load(ctx, commit)
	if err != nil {
		return nil, err
	}
	r.configs.put(commit, snap.Config)
	return snap.Config, nil
}

// savedPlan is a stored plan with its document decoded.
type savedPlan struct {
	rec  store.PlanRecord
	plan *meridian.Plan
}

// SavedPlan returns the stored plan id of the watched repo, with its
// document decoded; another repo's plan is not found. Plans are cached by
// ID: they are immutable once saved (their ID is their content). Callers
// must not modify what it returns.
func (r *Reconciler) SavedPlan(ctx context.Context, id string) (store.PlanRecord, *meridian.Plan, error) {
	if d, ok := r.saved.get(id); ok {
		return d.rec, d.plan, nil
	}
	rec, err := r.st.GetPlan(ctx, id)
	if err != nil {
		return store.PlanRecord{}, nil, err
	}
	if rec.RepoID != r.opts.RepoID {
		return store.PlanRecord{}, nil, store.NotFound("plan", id)
	}
	p := &meridian.Plan{}
	if err := json.Unmarshal(rec.Document, p); err != nil {
		return store.PlanRecord{}, nil, fmt.Errorf("plan %s: decode document: %w", id, err)
	}
	r.saved.put(id, savedPlan{rec: rec, plan: p})
	return rec, p, nil
}

// WorkloadTags returns each workload's tags in the config at commit, for
// cost reports grouped by team or tag. Configs are cached by commit.
func (r *Reconciler) WorkloadTags(ctx context.Context, commit string) (map[string]map[string]string, error) {
	cfg, err := r.config(ctx, commit)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(cfg.Workloads))
	for _, w := range cfg.Workloads {
		out[w.Name] = w.Tags
	}
	return out, nil
}
