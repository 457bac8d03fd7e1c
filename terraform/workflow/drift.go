package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
)

// DriftKindTerraform is the kind of drift found through Terraform.
const DriftKindTerraform = "terraform"

// DriftTarget is one target's drift check.
type DriftTarget struct {
	Target string `json:"target"`
	// PlanID is the plan last applied on the target, checked against.
	PlanID string `json:"plan_id"`
	// Drifted is set when anything differs.
	Drifted bool                     `json:"drifted"`
	Items   []store.DriftObservation `json:"items"`
	Error   string                   `json:"error,omitempty"`
}

// DriftReport is the outcome of a drift check, target by target.
type DriftReport struct {
	RunID   string        `json:"run_id"`
	Targets []DriftTarget `json:"targets"`
}

// Drifted reports whether any target drifted.
func (r *DriftReport) Drifted() bool {
	for _, t := range r.Targets {
		if t.Drifted {
			return true
		}
	}
	return false
}

// Errored reports whether any target could not be checked.
func (r *DriftReport) Errored() bool {
	for _, t := range r.Targets {
		if t.Error != "" {
			return true
		}
	}
	return false
}

// Drift checks every target Meridian has applied against what it applied
// there, and stores what it finds. For each target it reports:
//
//   - the state serial moving since Meridian's apply: something else wrote
//     the state (a manual terraform apply, state rm, an edit);
//   - what a refresh-only plan (with Terraform's detailed exit code) finds
//     changed outside Terraform in the real infrastructure;
//   - what a normal plan of the last applied module and variables would
//     change to restore it: the resources the out-of-band changes moved.
func (s *Session) Drift(ctx context.Context) (_ *DriftReport, err error) {
	ctx, done := s.bind(ctx)
	defer done()
	defer func() { err = why(ctx, err) }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	applied, err := s.w.st.AppliedTargets(ctx, s.repoID)
	if err != nil {
		return nil, err
	}
	ledger, err := s.ledger(ctx)
	if err != nil {
		return nil, err
	}
	rep := &DriftReport{RunID: s.run.ID, Targets: make([]DriftTarget, len(applied))}
	forEach(s.w.opts.Concurrency, indexes(len(applied)), func(i int) {
		at := applied[i]
		dt := DriftTarget{Target: at.Target, PlanID: at.PlanID, Items: []store.DriftObservation{}}
		if err := s.driftTarget(ctx, at, ledger[at.Target], &dt); err != nil {
			dt.Error = err.Error()
		}
		dt.Drifted = len(dt.Items) > 0
		rep.Targets[i] = dt
	})
	var all []store.DriftObservation
	for _, t := range rep.Targets {
		all = append(all, t.Items...)
	}
	if len(all) > 0 {
		if err := s.w.st.RecordDrift(context.WithoutCancel(ctx), all); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (s *Session) driftTarget(ctx context.Context, at store.AppliedTarget, workloads map[string]int, dt *DriftTarget) error {
	// Each target is locked on its own: a drift check must not wait for, or
	// fail with, targets other than the one it reads.
	if _, err := s.lock(ctx, []string{at.Target}, at.PlanID); err != nil {
		return err
	}
	defer s.unlock(at.Target)
	obs := func(address, workload, action, detail string) {
		dt.Items = append(dt.Items, store.DriftObservation{RepoID: s.repoID, RunID: s.run.ID, Kind: DriftKindTerraform,
			Target: at.Target, Workload: workload, Address: address, Action: action, Detail: detail})
	}
	dir := s.w.abs(at.Dir)
	files, err := terraform.ReadModule(os.DirFS(dir), "module")
	if err != nil {
		return fmt.Errorf("artefacts of the applied plan %s: %w", at.PlanID, err)
	}
	ws, err := s.w.tf.Workspace(s.w.workspaceDir(s.repoID, at.Target))
	if err != nil {
		return err
	}
	if err := files.Write(ws.Dir); err != nil {
		return fmt.Errorf("write workspace: %w", err)
	}
	backend, err := readBackend(dir)
	if err != nil {
		return err
	}
	if err := ws.Init(ctx, backend); err != nil {
		return err
	}
	state, err := ws.State(ctx)
	if err != nil {
		return err
	}
	if state.Serial != at.StateSerial || state.Lineage != at.StateLineage {
		obs("", "", "state", fmt.Sprintf("the state was written outside Meridian: serial %d (lineage %s) since Meridian applied serial %d (lineage %s)",
			state.Serial, shortLineage(state.Lineage), at.StateSerial, shortLineage(at.StateLineage)))
	}
	scratch := filepath.Join(ws.Dir, ".meridian")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	workload := func(key string) string {
		if _, ok := workloads[key]; ok {
			return key
		}
		return ""
	}
	refresh, err := ws.Plan(ctx, filepath.Join(scratch, "refresh.tfplan"), terraform.PlanRefreshOnly)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, d := range terraform.Drift(refresh.Plan) {
		seen[d.Address] = true
		obs(d.Address, workload(d.Key), d.Action, "changed outside Terraform: "+d.String())
	}
	restore, err := ws.Plan(ctx, filepath.Join(scratch, "restore.tfplan"), terraform.PlanNormal)
	if err != nil {
		return err
	}
	for _, d := range terraform.Pending(restore.Plan) {
		if !seen[d.Address] {
			obs(d.Address, workload(d.Key), d.Action, "differs from the applied plan "+at.PlanID+"; restoring it would "+d.String())
		}
	}
	sort.SliceStable(dt.Items, func(i, j int) bool { return dt.Items[i].Address < dt.Items[j].Address })
	return nil
}

func shortLineage(l string) string {
	if l == "" {
		return "none"
	}
	l, _, _ = strings.Cut(l, "-")
	return l
}
