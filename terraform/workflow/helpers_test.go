package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
	"github.com/meridianhq/meridian/terraform/workflow"
)

const secret = "tok-3e9a1c-never-store-me"

// fixture is a config repo with two Terraform targets, a state dir and a
// store, as one meridian installation has them.
type fixture struct {
	t        *testing.T
	bin      string
	repoDir  string
	stateDir string
	dbPath   string
	cfg      *meridian.Config
	src      workflow.Source
	helper   helperConfig
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, bin: terraformtest.Binary(t), stateDir: t.TempDir()}
	f.repoDir = filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(f.repoDir, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}
	f.dbPath = filepath.Join(f.stateDir, "meridian.db")
	tfm := func() *meridian.TerraformModule {
		return &meridian.TerraformModule{Module: "tf/app", Vars: map[string]string{"token": secret}}
	}
	f.cfg = &meridian.Config{
		Targets: []meridian.Target{
			{Name: "east", Provider: meridian.ProviderAWS, Region: "us-east-1", Engine: meridian.EngineTerraform, Terraform: tfm(), Origin: meridian.Origin{File: "targets/east.yaml", Line: 1}},
			{Name: "west", Provider: meridian.ProviderAWS, Region: "us-west-2", Engine: meridian.EngineTerraform, Terraform: tfm(), Origin: meridian.Origin{File: "targets/west.yaml", Line: 1}},
			{Name: "edge", Provider: meridian.ProviderEdge, Region: "ber", Engine: meridian.EngineCrossplane},
		},
		Workloads: []meridian.Workload{
			{Name: "api", Tags: map[string]string{"owner": "a"}, PerReplica: meridian.PerReplica{VCPU: 1, MemoryGiB: 2}},
			{Name: "web", PerReplica: meridian.PerReplica{VCPU: 0.5, MemoryGiB: 1}},
			{Name: "etl", PerReplica: meridian.PerReplica{VCPU: 2, MemoryGiB: 8}},
		},
	}
	f.src = workflow.Source{Source: f.repoDir, Commit: "c1", TreeDigest: "d1"}
	return f
}

func (f *fixture) open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), f.dbPath, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func (f *fixture) workflow(tb testing.TB, db workflow.Store, opts workflow.Options) *workflow.Workflow {
	tb.Helper()
	r, err := terraform.New(context.Background(), f.bin, terraform.Options{PluginCacheDir: filepath.Join(f.stateDir, "plugin-cache")})
	if err != nil {
		tb.Fatal(err)
	}
	opts.StateDir = f.stateDir
	if opts.Owner == (store.Owner{}) {
		opts.Owner = store.Owner{Host: "test", PID: os.Getpid(), Actor: "tester"}
	}
	wf, err := workflow.New(db, r, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return wf
}

// placements is target -> workload -> replicas.
type placements map[string]map[string]int

func (p placements) plan() *meridian.Plan {
	plan := &meridian.Plan{ID: "base", Commit: "c1"}
	var targets []string
	for t := range p {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		var ws []string
		for w := range p[t] {
			ws = append(ws, w)
		}
		sort.Strings(ws)
		for _, w := range ws {
			plan.Placements = append(plan.Placements, meridian.Placement{Workload: w, Target: t, Replicas: p[t][w]})
		}
	}
	return plan
}

// planSession begins an apply session and plans pl in it.
func (f *fixture) planSession(ctx context.Context, wf *workflow.Workflow, plan *meridian.Plan) (*workflow.Session, error) {
	s, err := wf.Begin(ctx, store.RunApply, f.src, workflow.ModeApply)
	if err != nil {
		return nil, err
	}
	if err := s.PlanTerraform(ctx, f.cfg, os.DirFS(f.repoDir), plan); err != nil {
		s.Close(err, nil)
		return nil, err
	}
	if err := s.SavePlan(ctx, plan); err != nil {
		s.Close(err, nil)
		return nil, err
	}
	return s, nil
}

// applyAll plans and applies pl in one session, as `meridian apply --repo`
// does, and fails the test on any error.
func (f *fixture) applyAll(t *testing.T, wf *workflow.Workflow, pl placements) (*meridian.Plan, *workflow.ApplyResult) {
	t.Helper()
	ctx := context.Background()
	plan := pl.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(ctx, plan.ID, nil)
	s.Close(err, res)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("apply failed: %+v", res.Targets)
	}
	return plan, res
}

func changes(plan *meridian.Plan) map[string]meridian.TargetChange {
	out := map[string]meridian.TargetChange{}
	for _, c := range plan.Terraform {
		c.StateSerial = 0
		out[c.Target] = c
	}
	return out
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
