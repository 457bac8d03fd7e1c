package controlplane

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/history"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/policies"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// LiveBranch is the branch under which the finding lifecycle keeps the live
// findings of a tracked branch's audits: a plan's transition resolves the
// findings it no longer raises, so live findings, which no plan raises,
// have records of their own. Their events carry this branch.
func LiveBranch(branch string) string { return branch + "@live" }

// AuditorOptions configure an Auditor. Zero values mean the defaults.
type AuditorOptions struct {
	RepoID string
	// Branch is the tracked branch whose config is audited (default main).
	Branch string
	// Interval is the time between audits. Required.
	Interval time.Duration
	Loader   Loader
	// Open returns each audited target's reader.
	Open inventory.Opener
	// Ledger gives the applied-state ledger; nil skips the "missing" check.
	Ledger store.Ledger
	// Drift is the store's drift records, read to carry over the records
	// of targets an audit could not read.
	Drift DriftStore
	// Recorder writes drift records (waking the event feeds) and the live
	// finding lifecycle. Required.
	Recorder *Recorder
	// Changed, when set, is called after an audit that opened, resolved,
	// waived or reopened a live finding: the server replans the branch
	// (Reconciler.Sync), whose plans hold the workloads of open ones.
	Changed func(ctx context.Context)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Auditor runs `meridian audit` for the server on a schedule: the tracked
// branch's config, every target with an account block, drift records of
// engine live and the live finding lifecycle on LiveBranch(branch).
type Auditor struct {
	opts AuditorOptions
	mu   sync.Mutex
	last *inventory.Report
}

// NewAuditor returns an Auditor; Run starts it.
func NewAuditor(opts AuditorOptions) *Auditor {
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Auditor{opts: opts}
}

// Last returns the last audit's report, or nil before the first.
func (a *Auditor) Last() *inventory.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Run audits every Interval until ctx ends, the first time at once. A
// failed audit is logged and retried at the next tick.
func (a *Auditor) Run(ctx context.Context) {
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		if _, err := a.Once(ctx); err != nil && ctx.Err() == nil {
			a.opts.Logger.WarnContext(ctx, "audit failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs one audit and records it.
func (a *Auditor) Once(ctx context.Context) (*inventory.Report, error) {
	snap, err := a.opts.Loader.Load(ctx, a.opts.Branch)
	if err != nil {
		return nil, fmt.Errorf("audit: read branch %s: %w", a.opts.Branch, err)
	}
	cfg := snap.Config
	eng, err := policies.New(ctx, cfg.Settings, cfg.Policies)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	readers := map[string]inventory.Reader{}
	// Readers that hold connections (GCP's gRPC clients) are closed after
	// each audit: the next one opens its own, with fresh credentials.
	defer func() {
		for name, r := range readers {
			if c, ok := r.(io.Closer); ok {
				if err := c.Close(); err != nil {
					a.opts.Logger.WarnContext(ctx, "audit: close reader", "target", name, "err", err)
				}
			}
		}
	}()
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if t.Account == nil {
			continue
		}
		r, err := a.opts.Open(ctx, t)
		if err != nil || r == nil {
			a.opts.Logger.WarnContext(ctx, "audit: no reader", "target", t.Name, "err", err)
			continue
		}
		readers[t.Name] = r
	}
	in := inventory.Input{Config: cfg, Engine: eng, Readers: readers, Logger: a.opts.Logger}
	if a.opts.Ledger != nil {
		if in.Placed, err = workflow.Current(ctx, a.opts.Ledger, a.opts.RepoID); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	rep, err := inventory.Audit(ctx, in)
	if err != nil {
		return nil, err
	}
	current, err := auditDrift(ctx, a.opts.Drift, a.opts.RepoID, rep)
	if err != nil {
		return rep, err
	}
	if _, err := a.opts.Recorder.Drift(ctx, a.opts.RepoID, []meridian.DriftEngine{meridian.DriftEngineLive}, current); err != nil {
		return rep, err
	}
	evs, err := a.opts.Recorder.LiveFindings(ctx, a.opts.RepoID, a.opts.Branch, snap.Commit, cfg, rep)
	if err != nil {
		return rep, err
	}
	a.mu.Lock()
	a.last = rep
	a.mu.Unlock()
	if len(evs) > 0 && a.opts.Changed != nil {
		a.opts.Changed(ctx)
	}
	return rep, nil
}

// LiveFindings moves the live finding records of branch (kept on
// LiveBranch(branch)) to what an audit found, as Planned does for a plan's
// findings: finding.opened, finding.resolved, waivers applied alike. An
// audit that could not read every target changes no record: what it did
// not see is unknown, not resolved.
func (r *Recorder) LiveFindings(ctx context.Context, repoID, branch, commit string, cfg *meridian.Config, rep *inventory.Report) ([]meridian.Event, error) {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	live := LiveBranch(branch)
	prev, err := r.st.FindingRecords(ctx, store.FindingFilter{RepoID: repoID, Branch: live})
	if err != nil {
		return nil, fmt.Errorf("record audit: %w", err)
	}
	if len(rep.Failed()) > 0 {
		return nil, nil
	}
	records, events := history.Transition(prev, history.Input{
		RepoID: repoID, Branch: live, Commit: commit, Now: r.now().UTC(),
		Findings: rep.Findings, Waivers: cfg.Waivers, Teams: history.Teams(cfg),
	})
	written, err := r.st.SaveFindings(ctx, records, events)
	if err != nil {
		return nil, fmt.Errorf("record audit: %w", err)
	}
	r.wake(written)
	return written, nil
}

// OpenLive returns the open live findings of branch, rebuilt from their
// records on LiveBranch(branch): what the server's plans of the branch
// hold workloads by. Waived and resolved findings hold nothing. The
// findings come in fingerprint order, so that the same records make the
// same plan.
func (r *Recorder) OpenLive(ctx context.Context, repoID, branch string) ([]meridian.Finding, error) {
	recs, err := r.st.FindingRecords(ctx, store.FindingFilter{RepoID: repoID, Branch: LiveBranch(branch), State: meridian.FindingOpen})
	if err != nil {
		return nil, fmt.Errorf("read live findings of %s: %w", branch, err)
	}
	out := make([]meridian.Finding, 0, len(recs))
	for _, rec := range recs {
		out = append(out, meridian.Finding{Rule: rec.Rule, Severity: rec.Severity, Workload: rec.Workload, Target: rec.Target,
			Field: rec.Field, File: rec.File, Line: rec.Line, Message: rec.Message, Remediation: rec.Remediation,
			Source: meridian.FindingSourceLive, Resource: rec.Resource})
	}
	return out, nil
}
