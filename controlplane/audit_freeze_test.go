package controlplane_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	gitconfig "github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/inventory"
	"github.com/meridianhq/meridian/store"
)

// closeCounter is a reader that counts its closes, as the GCP inventory
// holds gRPC connections to close.
type closeCounter struct {
	*switchable
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestAuditFreezesHeadPlan runs the server's scheduled audit against the
// reconcile loop as serve wires them, with the real planner on SQLite: a
// blocking live finding replans the head (same commit) with its workload
// blocked, a restarted leader plans it blocked from the stored records,
// and the audit that no longer finds it frees the workload.
func TestAuditFreezesHeadPlan(t *testing.T) {
	ctx := context.Background()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	dir := filepath.Join(root, "examples", "hybrid")
	cfg, err := gitconfig.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Settings.AutoApply = false
	for i := range cfg.Targets {
		if cfg.Targets[i].Name == "aws-us-east-1" {
			cfg.Targets[i].Account = &meridian.TargetAccount{ID: "111122223333"}
		}
	}
	loader := controlplanetest.NewLoader()
	loader.Set("main", &controlplane.Snapshot{Source: "repo", Commit: "c1", Config: cfg, FS: os.DirFS(dir)})
	db := controlplanetest.OpenSQLite(t)
	repoID := store.RepoID("repo")
	rec := controlplane.NewRecorder(db, controlplane.RecorderOptions{})
	wfs, err := controlplane.NewWorkflows(db, controlplane.WorkflowsOptions{StateDir: t.TempDir(), NoTerraform: "no Terraform in this test"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := controlplane.NewPlanner(wfs)
	if err != nil {
		t.Fatal(err)
	}
	// start runs a leader's reconcile loop until the returned stop.
	start := func() (*controlplane.Reconciler, func()) {
		r := controlplane.NewReconciler(db, loader, pl, nil, nil, controlplane.ReconcilerOptions{
			RepoID: repoID, Source: "repo", Branch: "main", Interval: 1 << 40, Recorder: rec, Live: true})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(rctx) }()
		return r, func() { cancel(); <-done }
	}
	recon, stop := start()
	defer func() { stop() }()
	// blocked is the head plan's blocked workloads, read back from the
	// store as the API and a follower read it.
	blocked := func(r *controlplane.Reconciler) []string {
		t.Helper()
		if err := r.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		_, p, err := r.SavedPlan(ctx, r.State().PlanID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, pl := range p.Placements {
			if pl.Blocked && !slices.Contains(out, pl.Workload) {
				out = append(out, pl.Workload)
			}
		}
		sort.Strings(out)
		return out
	}
	before := blocked(recon)
	firstPlan := recon.State().PlanID

	reader := &closeCounter{switchable: &switchable{path: filepath.Join(root, "inventory", "testdata", "hybrid", "aws-us-east-1.json")}}
	var syncs int
	a := controlplane.NewAuditor(controlplane.AuditorOptions{RepoID: repoID, Branch: "main", Interval: 1,
		Loader: loader, Drift: db, Recorder: rec,
		Changed: func(ctx context.Context) {
			syncs++
			if err := recon.Sync(ctx); err != nil {
				t.Errorf("replan after audit: %v", err)
			}
		},
		Open: func(context.Context, *meridian.Target) (inventory.Reader, error) { return reader, nil }})
	rep, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reader.closed != 1 {
		t.Errorf("reader closed %d times after one audit, want 1", reader.closed)
	}
	var frozen []string
	for _, f := range rep.Findings {
		if f.Blocking() && f.Workload != "" && !slices.Contains(frozen, f.Workload) && !slices.Contains(before, f.Workload) {
			frozen = append(frozen, f.Workload)
		}
	}
	if len(frozen) == 0 {
		t.Fatalf("the audit found no blocking finding of a workload the plan did not block already: %+v", rep.Findings)
	}
	if syncs != 1 {
		t.Errorf("an audit opening findings replanned %d times, want 1", syncs)
	}
	after := blocked(recon)
	for _, w := range frozen {
		if !slices.Contains(after, w) {
			t.Errorf("workload %s of a blocking live finding is not blocked in the head plan (blocked: %v)", w, after)
		}
	}
	if recon.State().PlanID == firstPlan {
		t.Errorf("the head plan ID did not change with the live findings")
	}
	_, head, err := recon.SavedPlan(ctx, recon.State().PlanID)
	if err != nil {
		t.Fatal(err)
	}
	withResource := 0
	for _, f := range head.Findings {
		if f.Source == meridian.FindingSourceLive && f.Resource != "" {
			withResource++
		}
	}
	if withResource == 0 {
		t.Errorf("the head plan carries no live finding with its resource: %+v", head.Findings)
	}
	if plans, _ := db.FindingRecords(ctx, store.FindingFilter{RepoID: repoID, Branch: "main", State: meridian.FindingOpen}); slices.ContainsFunc(plans, func(r meridian.FindingRecord) bool { return r.Resource != "" }) {
		t.Errorf("the plan's lifecycle recorded live findings again: %+v", plans)
	}

	// A new leader reads the same frozen state from the store.
	stop()
	recon, stop = start()
	if got := blocked(recon); !slices.Equal(got, after) {
		t.Errorf("restarted leader blocks %v, want %v", got, after)
	}

	reader.path = filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(reader.path, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if syncs != 2 {
		t.Errorf("an audit resolving findings: %d replans in all, want 2", syncs)
	}
	if got := blocked(recon); !slices.Equal(got, before) {
		t.Errorf("after the findings were resolved the head plan blocks %v, want %v as before the audit", got, before)
	}
	if reader.closed != 2 {
		t.Errorf("reader closed %d times after two audits, want 2", reader.closed)
	}
}
