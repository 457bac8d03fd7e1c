package controlplanetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/store"
)

// Recorder is where the fakes record what the real planner and applier
// record: plans, runs and audit events. Store implements it, and so does
// store/sqlite.
type Recorder interface {
	store.Plans
	store.Runs
	store.Audit
}

// Loader serves snapshots from memory by ref.
type Loader struct {
	mu    sync.Mutex
	refs  map[string]*controlplane.Snapshot
	errs  map[string]error
	loads atomic.Int64
	// PingErr is what Ping returns.
	PingErr error
}

// NewLoader returns an empty loader.
func NewLoader() *Loader {
	return &Loader{refs: map[string]*controlplane.Snapshot{}, errs: map[string]error{}}
}

// Set makes ref (and its commit) resolve to snap.
func (l *Loader) Set(ref string, snap *controlplane.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs[ref] = snap
	if snap.Commit != "" {
		l.refs[snap.Commit] = snap
	}
	delete(l.errs, ref)
}

// Fail makes loading ref fail with err until the next Set.
func (l *Loader) Fail(ref string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs[ref] = err
}

// Loads counts Load calls.
func (l *Loader) Loads() int64 { return l.loads.Load() }

// Load implements controlplane.Loader.
func (l *Loader) Load(ctx context.Context, ref string) (*controlplane.Snapshot, error) {
	l.loads.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.errs[ref]; err != nil {
		return nil, err
	}
	s, ok := l.refs[ref]
	if !ok {
		// refs/heads/<name> is the branch registered as <name>, as Git
		// resolves it; a ref registered by its full name wins.
		if name, isBranch := strings.CutPrefix(ref, "refs/heads/"); isBranch {
			s, ok = l.refs[name]
		}
	}
	if !ok {
		return nil, meridian.Errorf(meridian.ENOTFOUND, "ref %q not found", ref)
	}
	cp := *s
	cp.Ref = ref // as gitops reports it: the branch name, or the SHA asked for
	return &cp, nil
}

// Ping implements controlplane.Loader.
func (l *Loader) Ping(context.Context) error { return l.PingErr }

// Planner is a policy-engine-free stand-in for the real planner: it places
// each workload on its pinned target, else on the first target by name, at
// $10 per replica, and finds:
//   - TEST-OWNER (deny): a workload without an owner tag, when the
//     settings require the owner tag;
//   - TEST-POLICY (deny): every workload named in a policy file's source
//     as "deny <name>".
//
// It saves plans and records plan runs in its store like the real one.
type Planner struct {
	St    Recorder
	calls atomic.Int64
	// Gate, when set, is received from before each plan, so that tests can
	// hold plans in flight.
	Gate chan struct{}
	// Err, when set, fails every plan.
	Err atomic.Pointer[error]
	// Held, when set, names a target whose Terraform plan is skipped, as
	// the workflow skips a target whose lock another run holds.
	Held atomic.Pointer[string]
}

// Calls counts plans made.
func (p *Planner) Calls() int64 { return p.calls.Load() }

// Plan implements controlplane.Planner.
func (p *Planner) Plan(ctx context.Context, in controlplane.PlanInput) (*controlplane.PlanOutput, error) {
	p.calls.Add(1)
	if p.Gate != nil {
		select {
		case <-p.Gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if e := p.Err.Load(); e != nil {
		return nil, *e
	}
	cfg := in.Config
	plan := &meridian.Plan{Repo: in.Snapshot.Source, Commit: in.Snapshot.Commit, Currency: "USD", Unplaceable: []meridian.Unplaceable{}, Findings: []meridian.Finding{}}
	targets := make([]string, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		targets = append(targets, t.Name)
	}
	sort.Strings(targets)
	requireOwner := false
	for _, t := range cfg.Settings.RequiredTags {
		requireOwner = requireOwner || t == "owner"
	}
	for _, w := range cfg.Workloads {
		if requireOwner && w.Tags["owner"] == "" {
			plan.Findings = append(plan.Findings, meridian.Finding{Rule: "TEST-OWNER", Severity: meridian.SeverityDeny, Workload: w.Name,
				File: w.Origin.File, Line: w.Origin.Line, Message: "missing owner tag", Remediation: "add tags.owner"})
		}
		for _, path := range cfg.PolicyFiles() {
			if strings.Contains(cfg.Policies[path], "deny "+w.Name) {
				plan.Findings = append(plan.Findings, meridian.Finding{Rule: "TEST-POLICY", Severity: meridian.SeverityDeny, Workload: w.Name,
					File: w.Origin.File, Line: w.Origin.Line, Message: "denied by " + path})
			}
		}
		target := w.Pin
		if target == "" && len(targets) > 0 {
			target = targets[0]
		}
		if target == "" {
			plan.Unplaceable = append(plan.Unplaceable, meridian.Unplaceable{Workload: w.Name, Reason: "no targets"})
			continue
		}
		cost := meridian.Money(10 * w.Replicas.Min)
		plan.Placements = append(plan.Placements, meridian.Placement{Workload: w.Name, Target: target, Replicas: w.Replicas.Min, MonthlyCost: cost,
			Cost: meridian.CostBreakdown{Compute: cost}, Explanation: meridian.Explanation{Reason: "first target by name",
				Sizing: &meridian.Sizing{Method: "replicas.min", Replicas: w.Replicas.Min}}})
		plan.TotalMonthlyCost += cost
	}
	if held := p.Held.Load(); held != nil {
		plan.Terraform = append(plan.Terraform, meridian.TargetChange{Target: *held, Status: meridian.ChangeStatusSkipped, Error: "locked by another run"})
	}
	h := sha256.New()
	_ = json.NewEncoder(h).Encode([]any{in.Snapshot.Commit, cfg.Policies, cfg.Settings.RequiredTags, in.Current, cfg.Workloads, plan.Terraform})
	plan.ID = hex.EncodeToString(h.Sum(nil))[:16]
	out := &controlplane.PlanOutput{Plan: plan}
	if !in.Save {
		return out, nil
	}
	repoID := store.RepoID(in.Snapshot.Source)
	out.RunID = fmt.Sprintf("plan-%s-%d", plan.ID, p.calls.Load())
	if err := p.St.CreateRun(ctx, store.Run{ID: out.RunID, RepoID: repoID, Kind: store.RunPlan, Owner: store.Owner{Actor: in.Actor}}); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	if err := p.St.SavePlan(ctx, store.PlanRecord{ID: plan.ID, RepoID: repoID, Source: in.Snapshot.Source, Ref: in.Snapshot.Ref,
		Commit: in.Snapshot.Commit, Document: doc, CreatedBy: in.Actor}); err != nil {
		return nil, err
	}
	if err := p.St.FinishRun(ctx, out.RunID, nil, store.RunFinish{Status: store.RunSucceeded, PlanID: plan.ID}); err != nil {
		return nil, err
	}
	return out, nil
}

// Applier records applies in its store as succeeded runs.
type Applier struct {
	St      Recorder
	RepoID  string
	applied atomic.Int64
	// Gate, when set, is received from before each apply.
	Gate chan struct{}
}

// Applied counts applies.
func (a *Applier) Applied() int64 { return a.applied.Load() }

// Apply implements controlplane.Applier.
func (a *Applier) Apply(ctx context.Context, planID, actor string) (*controlplane.ApplyOutput, error) {
	if a.Gate != nil {
		select {
		case <-a.Gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	a.applied.Add(1)
	id := fmt.Sprintf("apply-%s-%d", planID, a.applied.Load())
	if err := a.St.CreateRun(ctx, store.Run{ID: id, RepoID: a.RepoID, Kind: store.RunApply, PlanID: planID, Owner: store.Owner{Actor: actor}, StartedAt: time.Now()}); err != nil {
		return nil, err
	}
	if err := a.St.FinishRun(ctx, id, nil, store.RunFinish{Status: store.RunSucceeded}); err != nil {
		return nil, err
	}
	if err := a.St.AppendAudit(ctx, store.AuditEvent{RepoID: a.RepoID, Actor: actor, Action: "apply.finish", PlanID: planID, RunID: id}); err != nil {
		return nil, err
	}
	return &controlplane.ApplyOutput{RunID: id, Status: controlplane.ApplySucceeded}, nil
}
