package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// TestConcurrentApplies runs two applies on the same targets from two
// store handles, as two meridian processes would: without a lock timeout
// the second fails at once naming the holder; with one it waits, then
// applies on top of the first, and the state stays intact.
func TestConcurrentApplies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	wfA := f.workflow(t, f.open(t), workflow.Options{Owner: store.Owner{Host: "host-a", PID: 1, Actor: "alice"}})
	planA := initial.plan()
	sA, err := f.planSession(ctx, wfA, planA) // holds both target locks until closed
	if err != nil {
		t.Fatal(err)
	}

	wfB := f.workflow(t, f.open(t), workflow.Options{Owner: store.Owner{Host: "host-b", PID: 2, Actor: "bob"}})
	_, err = f.planSession(ctx, wfB, placements{"east": {"api": 4}, "west": {"etl": 1}}.plan())
	var held *store.LockHeldError
	if !errors.As(err, &held) || held.Holder.Owner.Host != "host-a" || !strings.Contains(err.Error(), "host-a") {
		t.Fatalf("second apply = %v, want a fast failure naming host-a", err)
	}

	wfWait := f.workflow(t, f.open(t), workflow.Options{Owner: store.Owner{Host: "host-b", PID: 2, Actor: "bob"}, LockTimeout: time.Minute})
	var wg sync.WaitGroup
	var resB *workflow.ApplyResult
	var errB error
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(started)
		planB := placements{"east": {"api": 4}, "west": {"etl": 1}}.plan()
		s, err := f.planSession(ctx, wfWait, planB)
		if err != nil {
			errB = err
			return
		}
		resB, errB = s.Apply(ctx, planB.ID, nil)
		s.Close(errB, resB)
	}()
	<-started
	resA, err := sA.Apply(ctx, planA.ID, nil)
	sA.Close(err, resA)
	if err != nil || resA.Failed() {
		t.Fatalf("first apply: %v %+v", err, resA)
	}
	wg.Wait()
	if errB != nil || resB.Failed() {
		t.Fatalf("the waiting apply must run after the first: %v %+v", errB, resB)
	}
	assertStateValid(t, f, "east")
	// Both applies landed, one after the other: re-planning B converges.
	replan := placements{"east": {"api": 4}, "west": {"etl": 1}}.plan()
	s, err := f.planSession(ctx, wfA, replan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	for _, c := range replan.Terraform {
		if c.Status != meridian.ChangeStatusNoChanges {
			t.Errorf("after both applies %s still plans %+v", c.Target, c)
		}
	}
}

// assertStateValid checks the local-backend state file parses and has a
// lineage: nothing was half written.
func assertStateValid(t *testing.T, f *fixture, target string) map[string]any {
	t.Helper()
	p := filepath.Join(f.stateDir, "workspaces", f.src.RepoID(), target, "terraform.tfstate")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state of %s is not valid JSON: %v", target, err)
	}
	if st["lineage"] == "" || st["serial"] == nil {
		t.Fatalf("state of %s lacks lineage or serial", target)
	}
	return st
}

const helperEnv = "MERIDIAN_WORKFLOW_HELPER"

// TestHelperApply is not a test: TestKillDuringApply runs the test binary
// with this test selected to get an apply it can kill -9.
func TestHelperApply(t *testing.T) {
	cfg := os.Getenv(helperEnv)
	if cfg == "" {
		t.Skip("helper process for TestKillDuringApply")
	}
	var f fixture
	if err := json.Unmarshal([]byte(cfg), &f.helper); err != nil {
		t.Fatal(err)
	}
	f.t, f.bin, f.repoDir, f.stateDir, f.dbPath = t, f.helper.Bin, f.helper.RepoDir, f.helper.StateDir, filepath.Join(f.helper.StateDir, "meridian.db")
	g := newFixture(t) // for the config only
	f.cfg, f.src = g.cfg, workflow.Source{Source: f.repoDir, Commit: "c1", TreeDigest: "d1"}
	wf := f.workflow(t, f.open(t), workflow.Options{LeaseTTL: 2 * time.Second, Owner: store.Owner{Host: "doomed", PID: os.Getpid(), Actor: "helper"}})
	f.applyAll(t, wf, slowChange)
	t.Fatal("the helper's apply finished; it should have been killed")
}

var slowChange = placements{"east": {"api": 3, "web": 1}, "west": {"etl": 1}}

// TestKillDuringApply kills a meridian apply with SIGKILL while Terraform
// is in the middle of a resource, then checks that nothing is lost: the
// state file is valid, the killed run is recorded as interrupted (never
// succeeded), the next apply takes the lock over once the lease expires,
// and it converges.
func TestKillDuringApply(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{LeaseTTL: 2 * time.Second, LockTimeout: time.Minute})
	f.applyAll(t, wf, initial)
	before := assertStateValid(t, f, "east")

	marker := filepath.Join(t.TempDir(), "provisioner.pid")
	cfg, _ := json.Marshal(helperConfig{Bin: f.bin, RepoDir: f.repoDir, StateDir: f.stateDir})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperApply$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg), "MERIDIAN_TEST_SLOW="+marker)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the helper's apply to reach the slow provisioner", time.Minute, func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if pid, err := readPID(marker); err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL) // the provisioner's sleep outlives Terraform
	}
	if !strings.Contains(out.String(), "TestHelperApply") {
		t.Fatalf("helper did not run:\n%s", out.String())
	}

	after := assertStateValid(t, f, "east")
	if after["lineage"] != before["lineage"] {
		t.Errorf("state lineage changed from %v to %v: the state was replaced", before["lineage"], after["lineage"])
	}
	if after["serial"].(float64) < before["serial"].(float64) {
		t.Errorf("state serial went back from %v to %v", before["serial"], after["serial"])
	}

	// The next apply waits out the dead run's lease, takes over and
	// converges.
	f.applyAll(t, wf, slowChange)
	replan := slowChange.plan()
	s, err := f.planSession(ctx, wf, replan)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil, nil)
	for _, c := range replan.Terraform {
		if c.Status != meridian.ChangeStatusNoChanges {
			t.Errorf("after recovery %s still plans %+v", c.Target, c)
		}
	}
	runs, err := db.ListRuns(ctx, store.RunFilter{RepoID: f.src.RepoID()})
	if err != nil {
		t.Fatal(err)
	}
	var killed []store.Run
	for _, r := range runs {
		if r.Owner.Actor == "helper" {
			killed = append(killed, r)
		}
	}
	if len(killed) == 0 {
		t.Fatal("the killed apply left no run record")
	}
	// The run as a whole and its part on east (killed mid-resource) are
	// interrupted; west, which finished before the kill, may have succeeded.
	got := map[string]store.RunStatus{}
	for _, r := range killed {
		got[r.Target] = r.Status
	}
	for _, target := range []string{"", "east"} {
		if got[target] != store.RunInterrupted {
			t.Errorf("killed run (target %q) is %q, want interrupted; all: %v", target, got[target], got)
		}
	}
	if ev, _ := db.ListAudit(ctx, store.AuditFilter{Action: "lock.takeover"}); len(ev) == 0 {
		t.Error("the takeover of the dead run's lock was not audited")
	}
}

type helperConfig struct {
	Bin, RepoDir, StateDir string
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("bad pid %q", b)
	}
	return pid, nil
}

// TestLostLockStopsSession force-unlocks a target under a live session:
// the session notices at its next renewal, stops, and its apply does not
// run; the run is recorded as interrupted.
func TestLostLockStopsSession(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{LeaseTTL: 300 * time.Millisecond})
	ctx := context.Background()
	plan := initial.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	if _, held, err := db.ForceUnlock(ctx, store.LockKey{RepoID: f.src.RepoID(), Target: "east"}, "operator", "test"); err != nil || !held {
		t.Fatalf("force-unlock: held %v, %v", held, err)
	}
	waitFor(t, "the session to notice it lost the lock", 10*time.Second, func() bool { return s.Err() != nil })
	res, err := s.Apply(ctx, plan.ID, nil)
	s.Close(err, res)
	if err == nil || !strings.Contains(err.Error(), "lost the lock on target east") {
		t.Fatalf("apply after losing the lock = %+v, %v; want an error naming the lost lock", res, err)
	}
	r, err := db.GetRun(ctx, s.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RunInterrupted {
		t.Errorf("run after losing its lock is %s, want interrupted", r.Status)
	}
	if ents, _ := db.LedgerEntries(ctx, f.src.RepoID()); len(ents) != 0 {
		t.Errorf("a session that lost its lock wrote the ledger: %+v", ents)
	}
}
