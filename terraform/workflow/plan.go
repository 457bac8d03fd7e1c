package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/terraform"
)

// Finding rule IDs raised by the Terraform stage.
const (
	// RuleTerraformFailed: a target could not be planned.
	RuleTerraformFailed = "MER-TF-002"
	// RuleTerraformLocked: a target was skipped because its lock is held.
	RuleTerraformLocked = "MER-TF-003"
	// RuleTerraformCheck: a check block or condition failed.
	RuleTerraformCheck = "MER-TF-004"
)

// staged is the Terraform side of a plan, between PlanTerraform and
// SavePlan.
type staged struct {
	planID  string
	targets []store.PlanTarget
}

// targetPlan is one target's planning outcome.
type targetPlan struct {
	target *meridian.Target
	// decom is set for a target that left the config (or Terraform): its
	// last apply, whose workspace a destroy plan empties.
	decom    *store.AppliedTarget
	change   meridian.TargetChange
	pt       store.PlanTarget
	pending  string // artefact folder before the plan ID is known
	findings []meridian.Finding
}

// PlanTerraform adds Terraform's view to plan: for every Terraform target
// it writes the workspace (module and meridian.auto.tfvars.json), runs init,
// plan -out and show -json, and records the change summary in
// plan.Terraform. It folds the Terraform inputs (module files, variables,
// backend settings, binary version and each target's state serial) into
// plan.ID, so that the ID names exactly what would be applied. It
// implements planner.TerraformPlanner.
func (s *Session) PlanTerraform(ctx context.Context, cfg *meridian.Config, fsys fs.FS, plan *meridian.Plan) (err error) {
	ctx, done := s.bind(ctx)
	defer done()
	defer func() { err = why(ctx, err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	targets := TerraformTargets(cfg)
	tps := make([]*targetPlan, 0, len(targets))
	for _, t := range targets {
		tps = append(tps, &targetPlan{target: t})
	}
	decom, protected, err := s.decommissioned(ctx, cfg)
	if err != nil {
		return err
	}
	plan.Destroy = append(plan.Destroy, protected...)
	tps = append(tps, decom...)
	sort.Slice(tps, func(i, j int) bool { return tps[i].target.Name < tps[j].target.Name })
	if len(tps) == 0 {
		return nil
	}
	names := make([]string, len(tps))
	for i, tp := range tps {
		names[i] = tp.target.Name
	}
	skipped, err := s.lock(ctx, names, plan.ID)
	if err != nil {
		return err
	}
	ledger, err := s.ledger(ctx)
	if err != nil {
		return err
	}
	pendingRoot := filepath.Join(s.w.plansDir(s.repoID), pendingPrefix+safe(s.run.ID))
	defer os.RemoveAll(pendingRoot)
	forEach(s.w.opts.Concurrency, tps, func(tp *targetPlan) {
		t := tp.target
		tp.pending = filepath.Join(pendingRoot, t.Name)
		if why, ok := skipped[t.Name]; ok {
			tp.pt.Target = t.Name
			tp.change = emptyChange(t, meridian.ChangeStatusSkipped, why.Error())
			tp.findings = append(tp.findings, meridian.Finding{Rule: RuleTerraformLocked, Severity: meridian.SeverityWarn, Target: t.Name,
				File: t.Origin.File, Line: t.Origin.Line, Message: "Terraform plan skipped: " + why.Error(),
				Remediation: "re-plan once the other run has finished"})
			return
		}
		start := time.Now()
		if tp.decom != nil {
			s.planDecommission(ctx, tp)
		} else {
			s.planTarget(ctx, cfg, fsys, plan, ledger[t.Name], tp)
		}
		s.w.log.Info("terraform planned", "target", t.Name, "status", tp.change.Status, "decommission", tp.decom != nil, "elapsed", time.Since(start))
	})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("terraform plan: %w", context.Cause(ctx))
	}

	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\n", plan.ID, s.repoID, s.w.tf.Version())
	for _, d := range protected {
		fmt.Fprintf(h, "protected\x00%s\n", d.Name)
	}
	for _, tp := range tps {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s\n", tp.target.Name, tp.change.Status, tp.pt.InputsDigest, tp.pt.StateSerial, tp.pt.StateLineage)
	}
	plan.ID = hex.EncodeToString(h.Sum(nil))[:16]

	st := &staged{planID: plan.ID}
	plan.Terraform = make([]meridian.TargetChange, 0, len(tps))
	for _, tp := range tps {
		tp.pt.Change = tp.change
		if tp.change.Status == meridian.ChangeStatusChanges || tp.change.Status == meridian.ChangeStatusNoChanges {
			rel := planRel(s.repoID, plan.ID, tp.target.Name)
			dst := s.w.abs(rel)
			if err := os.RemoveAll(dst); err != nil {
				return fmt.Errorf("plan artefacts for %s: %w", tp.target.Name, err)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return fmt.Errorf("plan artefacts for %s: %w", tp.target.Name, err)
			}
			if err := os.Rename(tp.pending, dst); err != nil {
				return fmt.Errorf("plan artefacts for %s: %w", tp.target.Name, err)
			}
			tp.pt.Dir = rel
		}
		plan.Terraform = append(plan.Terraform, tp.change)
		plan.Findings = append(plan.Findings, tp.findings...)
		if tp.decom != nil && tp.change.Status == meridian.ChangeStatusSkipped {
			continue // nothing to apply, and nothing for an apply to fail on
		}
		st.targets = append(st.targets, tp.pt)
	}
	s.mu.Lock()
	s.staged = st
	s.mu.Unlock()
	return nil
}

func emptyChange(t *meridian.Target, status, errMsg string) meridian.TargetChange {
	return meridian.TargetChange{Target: t.Name, Module: t.Terraform.Module, Status: status,
		Add: []string{}, Change: []string{}, Replace: []string{}, Destroy: []string{}, Error: errMsg}
}

// planTarget plans one target into tp. Failures are the target's own:
// they become its status and a finding, never the whole plan's error.
func (s *Session) planTarget(ctx context.Context, cfg *meridian.Config, fsys fs.FS, plan *meridian.Plan, current map[string]int, tp *targetPlan) {
	t := tp.target
	tp.pt.Target = t.Name
	ctx, span := s.w.tracer.Start(ctx, "plan.target", trace.WithAttributes(attribute.String("meridian.target", t.Name)))
	defer span.End()
	fail := func(err error) {
		telemetry.Fail(span, err)
		tp.change = emptyChange(t, meridian.ChangeStatusFailed, err.Error())
		tp.findings = append(tp.findings, meridian.Finding{Rule: RuleTerraformFailed, Severity: meridian.SeverityDeny, Target: t.Name,
			Field: "terraform.module", File: t.Origin.File, Line: t.Origin.LineOf("terraform.module"),
			Message:     fmt.Sprintf("Terraform cannot plan target %s: %s", t.Name, terraformHint(t.Name, err)),
			Remediation: "fix the module (terraform validate) or its backend settings, then plan again"})
	}
	vars, frozen, err := targetVars(cfg, plan, t, current)
	if err != nil {
		fail(err)
		return
	}
	files, err := terraform.ReadModule(fsys, path.Clean(t.Terraform.Module))
	if err != nil {
		fail(err)
		return
	}
	if _, clash := files[terraform.VarsFile]; clash {
		fail(fmt.Errorf("the module holds its own %s, which Meridian writes", terraform.VarsFile))
		return
	}
	vb, err := vars.MarshalJSON()
	if err != nil {
		fail(err)
		return
	}
	files[terraform.VarsFile] = vb
	backend := t.Terraform.BackendConfig
	if backend, err = s.w.opts.Backend.resolve(files, s.repoID, t.Name, backend); err != nil {
		fail(err)
		return
	}
	res, err := s.planWorkspace(ctx, tp, files, backend, terraform.PlanNormal)
	if err != nil {
		fail(err)
		return
	}
	tp.change.Frozen, tp.pt.Placements = frozen, placementsOf(vars)
	for _, msg := range terraform.FailedChecks(res.Plan) {
		tp.findings = append(tp.findings, meridian.Finding{Rule: RuleTerraformCheck, Severity: meridian.SeverityWarn, Target: t.Name,
			File: t.Origin.File, Line: t.Origin.LineOf("terraform.module"),
			Message: fmt.Sprintf("Terraform check failed on %s: %s", t.Name, msg), Remediation: "see the module's check blocks"})
	}
}

// planWorkspace makes tp's workspace hold files, runs init with backend,
// snapshots the module (with the dependency lock file init wrote into
// files) and the backend settings into tp.pending, plans into
// tp.pending/plan.tfplan, and records the outcome in tp.change and tp.pt
// (with no placements). It returns the plan.
func (s *Session) planWorkspace(ctx context.Context, tp *targetPlan, files terraform.Files, backend map[string]string, mode terraform.PlanMode) (*terraform.PlanResult, error) {
	t := tp.target
	ws, err := s.w.tf.Workspace(s.w.workspaceDir(s.repoID, t.Name))
	if err != nil {
		return nil, err
	}
	if err := files.Write(ws.Dir); err != nil {
		return nil, fmt.Errorf("write workspace: %w", err)
	}
	if err := ws.Init(ctx, backend); err != nil {
		return nil, err
	}
	state, err := ws.State(ctx)
	if err != nil {
		return nil, err
	}
	if lock, err := os.ReadFile(filepath.Join(ws.Dir, terraform.LockFileName)); err == nil {
		files[terraform.LockFileName] = lock
	}
	if err := files.Write(filepath.Join(tp.pending, "module")); err != nil {
		return nil, fmt.Errorf("snapshot module: %w", err)
	}
	if err := writeBackend(tp.pending, backend); err != nil {
		return nil, fmt.Errorf("snapshot backend settings: %w", err)
	}
	res, err := ws.Plan(ctx, filepath.Join(tp.pending, "plan.tfplan"), mode)
	if err != nil {
		return nil, err
	}
	show, err := json.Marshal(res.Plan)
	if err != nil {
		return nil, err
	}
	c := terraform.Summarize(res.Plan)
	status := meridian.ChangeStatusNoChanges
	if res.Changed {
		status = meridian.ChangeStatusChanges
	}
	tp.change = meridian.TargetChange{Target: t.Name, Module: t.Terraform.Module, Status: status,
		Add: c.Add, Change: c.Change, Replace: c.Replace, Destroy: c.Destroy, Outputs: c.Outputs, StateSerial: state.Serial}
	tp.pt = store.PlanTarget{Target: t.Name, InputsDigest: inputsDigest(files, backend),
		StateSerial: state.Serial, StateLineage: state.Lineage, Placements: []store.Placement{}, ShowJSON: show}
	return res, nil
}

func inputsDigest(files terraform.Files, backend map[string]string) string {
	h := sha256.New()
	h.Write([]byte(files.Digest()))
	keys := make([]string, 0, len(backend))
	for k := range backend {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, backend[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func placementsOf(v terraform.Vars) []store.Placement {
	out := make([]store.Placement, 0, len(v.Placements))
	for _, name := range v.Workloads() {
		out = append(out, store.Placement{Workload: name, Replicas: v.Placements[name].Replicas})
	}
	return out
}

// targetVars builds a target's variables from the plan and the ledger.
// A workload with a blocking finding, or one that no target can host, is
// frozen: it keeps the replicas it runs with now (per the ledger) and may
// neither scale out, nor move, nor start somewhere new until the finding is
// fixed. The firewall rules are those of the flows resolved over where
// the workloads land (meridian.LandedPlacements), so that they follow
// frozen workloads too.
func targetVars(cfg *meridian.Config, plan *meridian.Plan, t *meridian.Target, current map[string]int) (terraform.Vars, []meridian.Frozen, error) {
	workloads := map[string]*meridian.Workload{}
	for i := range cfg.Workloads {
		workloads[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	blocked := meridian.HeldBack(plan)
	v := terraform.Vars{Target: terraform.NewTargetVars(t), Placements: map[string]terraform.PlacementVars{}, Extra: t.Terraform.Vars}
	var frozen []meridian.Frozen
	planned := map[string]int{}
	for _, pl := range plan.Placements {
		if pl.Target == t.Name {
			planned[pl.Workload] += pl.Replicas
		}
	}
	names := make([]string, 0, len(planned)+len(current))
	for w := range planned {
		names = append(names, w)
	}
	for w := range current {
		if _, ok := planned[w]; !ok {
			names = append(names, w)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		wl := workloads[name]
		if wl == nil {
			continue // removed from the config: Terraform destroys it
		}
		replicas, isPlanned := planned[name]
		if blocked[name] {
			cur, running := current[name]
			frozen = append(frozen, meridian.Frozen{Workload: name, Replicas: cur, Planned: replicas})
			if !running {
				continue
			}
			replicas = cur
		} else if !isPlanned {
			continue // moved away or scaled to nothing
		}
		v.Placements[name] = terraform.NewPlacementVars(wl, replicas)
	}
	flows := meridian.ResolveFlows(cfg.Targets, cfg.Workloads, meridian.LandedPlacements(plan, nil))
	for _, name := range v.Workloads() {
		rules, err := meridian.FirewallRules(name, t.Name, flows)
		if err != nil {
			return terraform.Vars{}, nil, fmt.Errorf("firewall rules of %s: %w", name, err)
		}
		v.NetworkRules = append(v.NetworkRules, terraform.NewNetworkRules(t.Name, rules)...)
	}
	return v, frozen, nil
}

// ledger returns the applied replicas by target and workload.
func (s *Session) ledger(ctx context.Context) (map[string]map[string]int, error) {
	es, err := s.w.st.LedgerEntries(ctx, s.repoID)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, e := range es {
		if out[e.Target] == nil {
			out[e.Target] = map[string]int{}
		}
		out[e.Target][e.Workload] = e.Replicas
	}
	return out, nil
}

// Current reads the applied-state ledger of repoID as the planner wants
// it: workload -> targets it runs on.
func Current(ctx context.Context, l store.Ledger, repoID string) (map[string][]string, error) {
	es, err := l.LedgerEntries(ctx, repoID)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range es {
		if e.Replicas > 0 {
			out[e.Workload] = append(out[e.Workload], e.Target)
		}
	}
	return out, nil
}

// SavePlan stores the finished plan with its Terraform artefacts, so that
// `meridian apply PLAN_ID` can apply exactly it. The document is redacted
// already: it holds only addresses and Meridian's own figures.
func (s *Session) SavePlan(ctx context.Context, plan *meridian.Plan) error {
	doc, err := json.Marshal(plan)
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	s.mu.Lock()
	st := s.staged
	s.planID = plan.ID
	s.mu.Unlock()
	rec := store.PlanRecord{ID: plan.ID, RepoID: s.repoID, Source: s.src.Source, Ref: s.src.Ref, Commit: s.src.Commit,
		Dirty: s.src.Dirty, TreeDigest: s.src.TreeDigest, Document: doc, CreatedBy: s.w.opts.Owner.Actor}
	if st != nil && st.planID == plan.ID {
		rec.Targets = st.targets
	}
	if err := s.w.st.SavePlan(ctx, rec); err != nil {
		return err
	}
	s.mu.Lock()
	s.saved = true
	s.mu.Unlock()
	s.audit(ctx, "plan.saved", "", plan.ID, fmt.Sprintf("commit %s, %d Terraform targets", orDash(s.src.Commit), len(rec.Targets)))
	s.w.prunePlans(ctx, s.repoID)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return strings.TrimSpace(s)
}
