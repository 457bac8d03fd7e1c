package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/gittest"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/terraformtest"
)

// gitExample copies the example into a fresh Git repository, as a user
// would with cp -r examples/hybrid X && git init X.
func gitExample(t *testing.T) string {
	t.Helper()
	gittest.CLI(t)
	dir := copyExample(t)
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return dir
}

// runGit runs the git CLI in dir as an operator other than Meridian.
func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ops", "GIT_AUTHOR_EMAIL=ops@example.com", "GIT_COMMITTER_NAME=Ops",
		"GIT_COMMITTER_EMAIL=ops@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// deployClone clones the local deploy repo of a state dir.
func deployClone(t testing.TB, state string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deploy")
	runGit(t, t.TempDir(), "clone", "-q", "--branch", "main", filepath.Join(state, "deploy.git"), dir)
	return dir
}

// TestApplyExample is the acceptance run: on a copy of the example,
// apply twice (the second is a no-op, in Terraform and in the deploy repo)
// and check drift, all offline.
func TestApplyExample(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := gitExample(t), t.TempDir()
	tf := []string{"--state-dir", state, "--terraform-bin", bin}

	r := runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve"}, tf...)...)
	if r.code != 0 {
		t.Fatalf("first apply exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`(\d+) of \d+ targets applied \(\d+ changed`).MatchString(r.stdout) || strings.Contains(r.stdout, "FAILED") {
		t.Errorf("first apply summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Deploy repo ") || !strings.Contains(r.stdout, ": COMMITTED, ") {
		t.Errorf("first apply must report the deploy repo commit:\n%s", r.stdout)
	}
	// The deploy repo holds exactly the tree `meridian render` writes.
	clone := deployClone(t, state)
	if n := runGit(t, clone, "rev-list", "--count", "main"); n != "1" {
		t.Errorf("first apply made %s deploy repo commits, want 1", n)
	}
	head := runGit(t, clone, "rev-parse", "main")
	got := readDir(t, filepath.Join(clone, "clusters", "prod"))
	for p, s := range got {
		got[p] = strings.ReplaceAll(s, "file://"+filepath.ToSlash(state), "file://<state-dir>")
	}
	if diff := cmp.Diff(readDir(t, filepath.Join("testdata", "render", "hybrid")), got); diff != "" {
		t.Errorf("deploy repo differs from the rendered example (-want +got):\n%s", diff)
	}
	r = runCLI(t, append([]string{"apply", "--repo", dir, "--auto-approve", "--format", "json"}, tf...)...)
	if r.code != 0 {
		t.Fatalf("second apply exited %d:\n%s", r.code, r.stderr)
	}
	var res struct {
		Targets []struct{ Target, Status string }
		Deploy  struct {
			Status  string
			Commits []struct{ SHA string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--format json must print one JSON document: %v\n%s", err, r.stdout)
	}
	if len(res.Targets) == 0 {
		t.Fatal("no Terraform targets in the example")
	}
	for _, tg := range res.Targets {
		if tg.Status != "no_changes" {
			t.Errorf("second apply: %s is %s, want no_changes", tg.Target, tg.Status)
		}
	}
	if res.Deploy.Status != controlplane.DeployUnchanged || len(res.Deploy.Commits) != 0 {
		t.Errorf("second apply: deploy repo %s with commits %v, want no_changes and none", res.Deploy.Status, res.Deploy.Commits)
	}
	if h := runGit(t, clone, "ls-remote", "origin", "refs/heads/main"); !strings.HasPrefix(h, head) {
		t.Errorf("second apply moved the deploy branch: %s, was %s", h, head)
	}
	r = runCLI(t, append([]string{"drift", "--repo", dir}, tf...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Deploy repo: clean") || !strings.Contains(r.stdout, "Crossplane: no target with crossplane.cluster") {
		t.Fatalf("drift after apply exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Out of band: a resource of one workload leaves the state.
	db, err := sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := db.LedgerEntries(context.Background(), store.RepoID(dir))
	// Both CLI applies are in the history, as the server's are: the event
	// feed, and what runs in the cost history.
	evs, eerr := db.EventsAfter(context.Background(), 0, 0)
	costs, cerr := db.CostHistory(context.Background(), store.CostFilter{RepoID: store.RepoID(dir), Kind: meridian.CostApplied, Dimension: meridian.CostByTarget})
	db.Close()
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, string(e.Type))
	}
	if eerr != nil || cerr != nil || strings.Count(strings.Join(kinds, " "), "apply.succeeded") != 2 ||
		!strings.Contains(strings.Join(kinds, " "), "lock.acquired") || !strings.Contains(strings.Join(kinds, " "), "lock.released") || len(costs) != 2 || costs[1].Total <= 0 {
		t.Errorf("history of two CLI applies: events %v (%v), applied cost points %d (%v)", kinds, eerr, len(costs), cerr)
	}
	if err != nil || len(entries) == 0 {
		t.Fatalf("ledger after apply: %v, %v", entries, err)
	}
	e := entries[0]
	rn, err := terraform.New(context.Background(), bin, terraform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := rn.Workspace(filepath.Join(state, "workspaces", store.RepoID(dir), e.Target))
	if err != nil {
		t.Fatal(err)
	}
	addr := `terraform_data.deployment["` + e.Workload + `"]`
	if err := ws.Exec().StateRm(context.Background(), addr, tfexec.Lock(true)); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, append([]string{"drift", "--repo", dir}, tf...)...)
	if r.code != 2 || !strings.Contains(r.stdout, addr) || !strings.Contains(r.stdout, "DRIFTED") {
		t.Errorf("drift after state rm exited %d, want 2 naming %s:\n%s\n%s", r.code, addr, r.stdout, r.stderr)
	}

	// Out of band: an operator edits a manifest in the deploy repo.
	const file = "clusters/prod/apps/docs-site/onprem-fra-dc1.yaml"
	replaceIn(t, filepath.Join(clone, filepath.FromSlash(file)), "count: 1", "count: 5")
	runGit(t, clone, "commit", "-qam", "scale docs-site by hand")
	runGit(t, clone, "push", "-q", "origin", "main")
	r = runCLI(t, append([]string{"drift", "--repo", dir, "--format", "json"}, tf...)...)
	var rep struct {
		RunID  string `json:"run_id"`
		Deploy struct {
			Drifted bool
			Items   []meridian.DriftRecord
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("drift --format json: %v\n%s", err, r.stdout)
	}
	want := []meridian.DriftRecord{{Engine: meridian.DriftEngineDeployRepo, Target: "onprem-fra-dc1", Workload: "docs-site", Resource: file, Action: "change"}}
	if diff := cmp.Diff(want, rep.Deploy.Items, cmpopts.IgnoreFields(meridian.DriftRecord{}, "Expected", "Actual")); r.code != 2 || diff != "" {
		t.Errorf("drift after a hand edit exited %d, want 2 naming %s (-want +got):\n%s\n%s", r.code, file, diff, r.stderr)
	}
	db, err = sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := db.ListDrift(context.Background(), store.DriftFilter{RepoID: store.RepoID(dir), Engine: meridian.DriftEngineDeployRepo})
	if err != nil || len(stored) != 1 || stored[0].Resource != file || !stored[0].ClearedAt.IsZero() {
		t.Errorf("the deploy-repo drift must be an open record: %+v, %v", stored, err)
	}
}

// TestApplyDeployFailure checks that a deploy repo that cannot be written
// fails the apply (exit 1, run recorded as failed) without losing what
// Terraform applied: the targets' results are reported and in the ledger.
func TestApplyDeployFailure(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := gitExample(t), t.TempDir()
	notGit := filepath.Join(t.TempDir(), "not-a-repo")
	if err := os.MkdirAll(notGit, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notGit, "README"), []byte("not Git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replaceIn(t, filepath.Join(dir, "meridian.yaml"), "deploy:\n", "deploy:\n  repo: "+notGit+"\n")

	r := runCLI(t, "apply", "--repo", dir, "--auto-approve", "--format", "json", "--state-dir", state, "--terraform-bin", bin)
	var res struct {
		RunID   string `json:"run_id"`
		Targets []struct{ Target, Status string }
		Deploy  struct{ Status, Error string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--format json must print one JSON document also when the deploy step fails: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || res.Deploy.Status != controlplane.DeployFailed || !strings.Contains(res.Deploy.Error, "not a Git repository") {
		t.Errorf("apply with an unusable deploy repo exited %d, deploy %+v; want 1 and a failed deploy step", r.code, res.Deploy)
	}
	if len(res.Targets) == 0 {
		t.Fatal("the Terraform results are missing")
	}
	for _, tg := range res.Targets {
		if tg.Status != "applied" {
			t.Errorf("%s is %s, want applied: a deploy failure must not hide Terraform's results", tg.Target, tg.Status)
		}
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if entries, err := db.LedgerEntries(context.Background(), store.RepoID(dir)); err != nil || len(entries) == 0 {
		t.Errorf("the ledger must record what Terraform applied: %v, %v", entries, err)
	}
	if run, err := db.GetRun(context.Background(), res.RunID); err != nil || run.Status != store.RunFailed || !strings.Contains(run.Error, "deploy repo") {
		t.Errorf("the run must be recorded as failed by the deploy step: %+v, %v", run, err)
	}
}

// TestApplyExitCodes checks the refusals (exit 2) and a declined approval
// (exit 1, plan kept) through the CLI.
func TestApplyExitCodes(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir, state := gitExample(t), t.TempDir()
	tf := []string{"--state-dir", state, "--terraform-bin", bin}

	var out strings.Builder
	code := run(context.Background(), append([]string{"apply", "--repo", dir}, tf...), strings.NewReader("no\n"), &out, &out)
	if code != 1 || !strings.Contains(out.String(), "Apply cancelled") {
		t.Fatalf("declined approval exited %d, want 1:\n%s", code, out.String())
	}
	m := regexp.MustCompile(`meridian apply ([0-9a-f]{16})`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("a declined apply must name the saved plan:\n%s", out.String())
	}
	planID := m[1]

	// Another run holds a target: the saved plan is refused, naming it.
	db, err := sqlite.Open(context.Background(), filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, err := db.GetPlan(context.Background(), planID)
	if err != nil || len(rec.Targets) == 0 {
		t.Fatalf("saved plan: %+v, %v", rec, err)
	}
	lk, err := db.AcquireLock(context.Background(), store.LockRequest{Key: store.LockKey{RepoID: rec.RepoID, Target: rec.Targets[0].Target},
		Owner: store.Owner{Host: "build-agent-9", PID: 4242, Actor: "ci"}, PlanID: "other", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, append([]string{"apply", planID}, tf...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "build-agent-9") {
		t.Errorf("apply with a held lock exited %d, want 2 naming the holder:\n%s", r.code, r.stderr)
	}

	// The operator breaks the lock; it is audited.
	if r := runCLI(t, "unlock", rec.Targets[0].Target, "--state-dir", state); r.code != 1 {
		t.Errorf("unlock without --reason exited %d, want 1", r.code)
	}
	r = runCLI(t, "unlock", rec.Targets[0].Target, "--state-dir", state, "--reason", "agent 9 was terminated")
	if r.code != 0 || !strings.Contains(r.stdout, "build-agent-9") {
		t.Fatalf("unlock exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := db.CheckFence(context.Background(), lk.Fence()); err == nil {
		t.Error("the old holder still holds the lock after unlock")
	}
	ev, err := db.ListAudit(context.Background(), store.AuditFilter{Action: "lock.force_unlock"})
	if err != nil || len(ev) != 1 || !strings.Contains(ev[0].Detail, "agent 9 was terminated") {
		t.Errorf("unlock audit: %+v, %v", ev, err)
	}

	// A changed file makes the saved plan stale.
	replaceIn(t, filepath.Join(dir, "workloads", "docs-site.yaml"), "storage_gb: 5", "storage_gb: 6")
	r = runCLI(t, append([]string{"apply", planID}, tf...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "stale") {
		t.Errorf("apply of a stale plan exited %d, want 2:\n%s", r.code, r.stderr)
	}
	replaceIn(t, filepath.Join(dir, "workloads", "docs-site.yaml"), "storage_gb: 6", "storage_gb: 5")
	r = runCLI(t, append([]string{"apply", planID}, tf...)...)
	if r.code != 0 {
		t.Errorf("apply of the saved plan, config restored, exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, append([]string{"apply", "0000000000000000"}, tf...)...); r.code != 1 {
		t.Errorf("apply of an unknown plan exited %d, want 1", r.code)
	}
}

// TestPlanTerraformHook drives the helper `meridian plan` uses: without a
// binary the plan says so in a warn finding and creates nothing; with one
// it carries each target's change summary and is saved for apply.
func TestPlanTerraformHook(t *testing.T) {
	bin := terraformtest.Binary(t)
	dir := copyExample(t)
	ctx := context.Background()
	a := &app{logger: slog.New(slog.DiscardHandler)}
	l, err := (&repoFlags{repo: dir}).load(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	plan := func(sf *stateFlags, tff *terraformFlags) *meridian.Plan {
		t.Helper()
		tp, err := a.planTerraform(ctx, sf, tff, l, "")
		if err != nil {
			t.Fatal(err)
		}
		defer tp.close()
		p, err := planner.New(append([]planner.Option{planner.WithLogger(a.logger)}, tp.options()...)...)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := p.Plan(ctx, planner.Input{Config: l.cfg, FS: l.snap.FS, Repo: l.snap.Source, Commit: l.snap.Commit, Dirty: l.snap.Dirty, Current: tp.current})
		if err != nil {
			t.Fatal(err)
		}
		if err := tp.save(ctx, pl); err != nil {
			t.Fatal(err)
		}
		return pl
	}

	t.Run("no binary", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		t.Setenv(terraform.EnvBinary, "")
		state := filepath.Join(t.TempDir(), "state")
		pl := plan(&stateFlags{stateDir: state}, &terraformFlags{mode: "auto"})
		var warned bool
		for _, f := range pl.Findings {
			warned = warned || (f.Rule == planner.RuleNoTerraform && f.Severity == meridian.SeverityWarn)
		}
		if !warned || len(pl.Terraform) != 0 {
			t.Errorf("plan without a binary: warn finding %v, terraform %+v", warned, pl.Terraform)
		}
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("a plan without a binary created the state dir: %v", err)
		}
		if _, err := a.planTerraform(ctx, &stateFlags{stateDir: state}, &terraformFlags{mode: "true"}, l, ""); err == nil {
			t.Error("--terraform=true without a binary must fail")
		}
	})

	t.Run("binary", func(t *testing.T) {
		state := t.TempDir()
		pl := plan(&stateFlags{stateDir: state}, &terraformFlags{mode: "auto", bin: bin, concurrency: 4, lease: time.Minute})
		if len(pl.Terraform) == 0 {
			t.Fatal("no Terraform section with a binary")
		}
		for _, c := range pl.Terraform {
			if c.Status != meridian.ChangeStatusChanges {
				t.Errorf("%s: %s %s, want changes on a fresh state dir", c.Target, c.Status, c.Error)
			}
		}
		r := runCLI(t, "apply", pl.ID, "--state-dir", state, "--terraform-bin", bin)
		if r.code != 0 {
			t.Errorf("apply of the plan `meridian plan` saved exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if off := plan(&stateFlags{stateDir: state}, &terraformFlags{mode: "false"}); len(off.Terraform) != 0 {
			t.Errorf("--terraform=false still planned Terraform: %+v", off.Terraform)
		}
	})
}
