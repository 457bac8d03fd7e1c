package workflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
)

// DriftTarget is one target's drift check.
type DriftTarget struct {
	Target string `json:"target"`
	// PlanID is the plan last applied on the target, checked against.
	PlanID string `json:"plan_id"`
	// Drifted is set when anything differs.
	Drifted bool `json:"drifted"`
	// Items are the drift found, engine terraform, not yet recorded: the
	// caller syncs them into the store's drift records.
	Items []meridian.DriftRecord `json:"items"`
	Error string                 `json:"error,omitempty"`
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
// there. It records nothing but the run: the caller turns the report into
// drift records (store.DriftRecords.SyncDrift), knowing which targets were
// checked. For each target it reports:
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
		dt := DriftTarget{Target: at.Target, PlanID: at.PlanID, Items: []meridian.DriftRecord{}}
		if err := s.driftTarget(ctx, at, ledger[at.Target], &dt); err != nil {
			dt.Error = err.Error()
			// What a failed check found is partial; the caller keeps the
			// target's records as they were instead.
			dt.Items = []meridian.DriftRecord{}
		}
		dt.Drifted = len(dt.Items) > 0
		rep.Targets[i] = dt
	})
	return rep, nil
}

func (s *Session) driftTarget(ctx context.Context, at store.AppliedTarget, workloads map[string]int, dt *DriftTarget) error {
	// Each target is locked on its own: a drift check must not wait for, or
	// fail with, targets other than the one it reads.
	if _, err := s.lock(ctx, []string{at.Target}, at.PlanID); err != nil {
		return err
	}
	defer s.unlock(at.Target)
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
		dt.Items = append(dt.Items, meridian.DriftRecord{Engine: meridian.DriftEngineTerraform, Target: at.Target, Action: DriftActionState,
			Expected: fmt.Sprintf("serial %d (lineage %s), as Meridian applied it", at.StateSerial, shortLineage(at.StateLineage)),
			Actual:   fmt.Sprintf("serial %d (lineage %s), written outside Meridian", state.Serial, shortLineage(state.Lineage))})
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
		dt.Items = append(dt.Items, DriftRecord(at.Target, workload(d.Key), d, DriftRefreshed))
	}
	restore, err := ws.Plan(ctx, filepath.Join(scratch, "restore.tfplan"), terraform.PlanNormal)
	if err != nil {
		return err
	}
	for _, d := range terraform.Pending(restore.Plan) {
		if !seen[d.Address] {
			dt.Items = append(dt.Items, DriftRecord(at.Target, workload(d.Key), d, DriftRestore))
		}
	}
	sort.SliceStable(dt.Items, func(i, j int) bool { return dt.Items[i].Resource < dt.Items[j].Resource })
	return nil
}

func shortLineage(l string) string {
	if l == "" {
		return "none"
	}
	l, _, _ = strings.Cut(l, "-")
	return l
}
