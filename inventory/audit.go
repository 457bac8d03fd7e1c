package inventory

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
)

// Reader lists what runs in one target's account, subscription, project or
// cluster. It must be read-only and safe to call again; the resources it
// returns need not have Target or Workload set (the audit resolves them).
type Reader interface {
	Resources(ctx context.Context) ([]meridian.LiveResource, error)
}

// Opener returns the Reader of an audited target (one with an account
// block). cmd/meridian wires one per provider; a nil Reader with a nil
// error means the provider has no inventory reader yet.
type Opener func(ctx context.Context, t *meridian.Target) (Reader, error)

// Input is one audit: the config, the policy engine compiled from it, and
// a Reader per audited target.
type Input struct {
	Config *meridian.Config
	Engine *policies.Engine
	// Readers maps a target name to its Reader.
	Readers map[string]Reader
	// Placed is the applied-state ledger (workload -> targets it runs on):
	// what should be found running. Nil skips the "missing" check.
	Placed map[string][]string
	// Logger receives one line per target read (default: discard).
	Logger *slog.Logger
	// ReadTimeout bounds the read of each target (default
	// DefaultReadTimeout): a cloud API that hangs fails its target, as an
	// unreadable one does, instead of stalling the audit and, in a server,
	// every audit after it.
	ReadTimeout time.Duration
}

// DefaultReadTimeout is how long reading one target may take when
// Input.ReadTimeout is zero: an account's inventory is a few hundred paged
// list calls, which the SDKs retry on throttling.
const DefaultReadTimeout = 5 * time.Minute

// Report is the outcome of an audit.
type Report struct {
	// Targets are the audited targets, by name, with what reading them
	// gave.
	Targets []TargetResult `json:"targets"`
	// Resources are every resource read, with Target and Workload resolved
	// where the tags allow, sorted by target and ID.
	Resources []meridian.LiveResource `json:"resources"`
	// Findings are the live findings (Source live): the workload rules on
	// resources' tags and the placement rules on what resources really
	// offer.
	Findings []meridian.Finding `json:"findings"`
	// Drift is what runs against what the config declares (engine live).
	Drift []meridian.DriftRecord `json:"drift"`
	// Frozen are the workloads a blocking live finding restricts: a plan
	// given these findings (planner.Input.Live) holds them at their
	// applied replicas, as any blocking finding does.
	Frozen []string `json:"frozen"`
}

// TargetResult is how reading one target went.
type TargetResult struct {
	Target    string `json:"target"`
	Resources int    `json:"resources"`
	// Error is why the target could not be read; its resources are then
	// unknown, not gone, and its drift is left as it was.
	Error string `json:"error,omitempty"`
}

// Blocking reports whether a live finding blocks: exit status 2 of
// `meridian audit`.
func (r *Report) Blocking() bool {
	return slices.ContainsFunc(r.Findings, meridian.Finding.Blocking)
}

// Failed lists the targets that could not be read.
func (r *Report) Failed() []string {
	var out []string
	for _, t := range r.Targets {
		if t.Error != "" {
			out = append(out, t.Target)
		}
	}
	return out
}

// Audit reads every target of in.Readers at once, resolves owners, runs
// the live policy check and derives drift. A target that cannot be read is
// reported in its TargetResult and skipped; errors are for problems that
// make the whole audit meaningless (a policy evaluation failure).
func Audit(ctx context.Context, in Input) (*Report, error) {
	logger := in.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, 0, len(in.Readers))
	for name := range in.Readers {
		names = append(names, name)
	}
	sort.Strings(names)
	timeout := in.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	read := make([][]meridian.LiveResource, len(names))
	rep := &Report{Targets: make([]TargetResult, len(names)), Findings: []meridian.Finding{}, Drift: []meridian.DriftRecord{}, Frozen: []string{}}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			rs, err := in.Readers[name].Resources(rctx)
			rep.Targets[i] = TargetResult{Target: name, Resources: len(rs)}
			if err != nil {
				rep.Targets[i].Error = err.Error()
				logger.WarnContext(ctx, "inventory read failed", "target", name, "err", err)
				return
			}
			logger.InfoContext(ctx, "inventory read", "target", name, "resources", len(rs))
			read[i] = rs
		})
	}
	wg.Wait()

	a := newAuditor(in.Config)
	for i, name := range names {
		for _, r := range read[i] {
			a.add(name, r)
		}
	}
	rep.Resources = a.resources()
	subjects := make([]policies.LiveSubject, 0, len(rep.Resources))
	for i := range rep.Resources {
		r := &rep.Resources[i]
		if r.Key != nil && !r.Key.CustomerManaged {
			continue // AWS-managed keys are the provider's, not the org's
		}
		subjects = append(subjects, policies.LiveSubject{Resource: r, Workload: a.workloads[r.Workload], Target: a.targets[r.Target]})
	}
	live, err := in.Engine.CheckLive(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	rep.Findings = append(rep.Findings, live.All()...)
	rep.Drift = append(rep.Drift, a.drift(rep, live.Placement, in.Placed)...)
	frozen := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Blocking() && f.Workload != "" && a.workloads[f.Workload] != nil {
			frozen[f.Workload] = true
		}
	}
	for w := range frozen {
		rep.Frozen = append(rep.Frozen, w)
	}
	sort.Strings(rep.Frozen)
	return rep, nil
}

// auditor resolves owners against one config.
type auditor struct {
	workloads map[string]*meridian.Workload
	targets   map[string]*meridian.Target
	// byID keeps one copy of each resource: two targets in one account
	// and region read the same resources.
	byID   map[string]meridian.LiveResource
	owners map[string]owner
}

func newAuditor(cfg *meridian.Config) *auditor {
	a := &auditor{workloads: map[string]*meridian.Workload{}, targets: map[string]*meridian.Target{},
		byID: map[string]meridian.LiveResource{}, owners: map[string]owner{}}
	for i := range cfg.Workloads {
		a.workloads[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	for i := range cfg.Targets {
		a.targets[cfg.Targets[i].Name] = &cfg.Targets[i]
	}
	return a
}

// add resolves r, read from target readBy: its workload is the one its
// tags name when the config declares it; its target is the one its tags
// name when declared, else the target whose account it was read from.
func (a *auditor) add(readBy string, r meridian.LiveResource) {
	o := ownerOf(&r)
	r.Target = readBy
	if a.targets[o.Target] != nil {
		r.Target = o.Target
	}
	r.Workload = ""
	if a.workloads[o.Workload] != nil {
		r.Workload = o.Workload
	}
	if _, ok := a.byID[r.ID]; ok {
		return // read again by another target in the same account and region
	}
	a.byID[r.ID] = r
	a.owners[r.ID] = o
}

func (a *auditor) resources() []meridian.LiveResource {
	out := make([]meridian.LiveResource, 0, len(a.byID))
	for _, r := range a.byID {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y meridian.LiveResource) int {
		return cmp.Or(cmp.Compare(x.Target, y.Target), cmp.Compare(x.ID, y.ID))
	})
	return out
}

// Drift actions of the live engine.
const (
	// DriftUndeclared: a resource Meridian made runs for a workload or
	// target the config does not declare, or on a target the workload is
	// not placed on.
	DriftUndeclared = "undeclared"
	// DriftMissing: a placement runs per the ledger, but nothing of the
	// workload is found on its target.
	DriftMissing = "missing"
	// DriftChanged: a resource no longer meets its workload's
	// requirements (a key removed, retention cut in the console).
	DriftChanged = "change"
)

// drift derives the live engine's drift records.
func (a *auditor) drift(rep *Report, changed []meridian.Finding, placed map[string][]string) []meridian.DriftRecord {
	var out []meridian.DriftRecord
	found := map[[2]string]bool{}
	for _, r := range rep.Resources {
		o := a.owners[r.ID]
		if r.Workload != "" {
			found[[2]string{r.Workload, r.Target}] = true
		}
		if !o.Managed {
			continue
		}
		rec := meridian.DriftRecord{Engine: meridian.DriftEngineLive, Target: r.Target, Workload: r.Workload,
			Resource: r.ID, Action: DriftUndeclared, Actual: fmt.Sprintf("%s %s runs", r.Kind, r.Name)}
		switch {
		case o.Workload != "" && r.Workload == "":
			rec.Expected = fmt.Sprintf("no workload %q in the config", o.Workload)
		case o.Target != "" && a.targets[o.Target] == nil:
			rec.Expected = fmt.Sprintf("no target %q in the config", o.Target)
		case placed != nil && r.Workload != "" && !slices.Contains(placed[r.Workload], r.Target):
			rec.Expected = fmt.Sprintf("%s is not placed on %s", r.Workload, r.Target)
		default:
			continue
		}
		out = append(out, rec)
	}
	audited := map[string]bool{}
	for _, t := range rep.Targets {
		audited[t.Target] = t.Error == ""
	}
	for w, ts := range placed {
		if a.workloads[w] == nil {
			continue
		}
		for _, t := range ts {
			if audited[t] && !found[[2]string{w, t}] {
				out = append(out, meridian.DriftRecord{Engine: meridian.DriftEngineLive, Target: t, Workload: w,
					Resource: w + "@" + t, Action: DriftMissing,
					Expected: fmt.Sprintf("%s runs on %s", w, t), Actual: "no resource of it found in the target's account"})
			}
		}
	}
	for _, f := range changed {
		out = append(out, meridian.DriftRecord{Engine: meridian.DriftEngineLive, Target: f.Target, Workload: f.Workload,
			Resource: f.Resource, Action: DriftChanged, Expected: f.Field + " as " + f.Workload + " declares", Actual: f.Message})
	}
	slices.SortFunc(out, func(x, y meridian.DriftRecord) int {
		return cmp.Or(cmp.Compare(x.Target, y.Target), cmp.Compare(x.Resource, y.Resource), cmp.Compare(x.Action, y.Action))
	})
	return out
}
