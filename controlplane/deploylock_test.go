package controlplane_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/gittest"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/sqlite"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// movesTrace is the store's move records as one apply sees them: every
// read and write is logged with the apply's name, and a read lingers, so
// that two deploy steps running at once would interleave.
type movesTrace struct {
	store.Moves
	name string
	mu   *sync.Mutex
	ops  *[]string
}

func (m movesTrace) note(op string) {
	m.mu.Lock()
	*m.ops = append(*m.ops, m.name+" "+op)
	m.mu.Unlock()
}

func (m movesTrace) LoadMoves(ctx context.Context, scope string) ([]store.Move, error) {
	m.note("load")
	time.Sleep(150 * time.Millisecond)
	return m.Moves.LoadMoves(ctx, scope)
}

func (m movesTrace) SaveMoves(ctx context.Context, scope string, ms []store.Move) error {
	m.note("save")
	return m.Moves.SaveMoves(ctx, scope, ms)
}

func (m movesTrace) SaveMovesFenced(ctx context.Context, f store.Fence, scope string, ms []store.Move) error {
	m.note("save-fenced")
	return m.Moves.SaveMovesFenced(ctx, f, scope, ms)
}

// TestDeployLockSerializesApplies is issue 17's race: two applies of one
// config repo reach the deploy step at once (nothing else serializes them
// when the config has no Terraform target). The deploy lock makes the
// second wait in the lock's queue, saying so, until the first closed its
// session; its move records are written under the lock's fence.
func TestDeployLockSerializesApplies(t *testing.T) {
	gittest.CLI(t)
	ctx := context.Background()
	l := loadExample(t)
	p, err := planner.New(planner.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(ctx, planner.Input{Config: l.Config, FS: l.FS, Repo: l.Source})
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(state, "meridian.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs controlplanetest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// No Terraform: the deploy step is all these applies do.
	wf, err := workflow.New(db, nil, workflow.Options{StateDir: state, Owner: store.Owner{Host: "h", Actor: "tester"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	src := workflow.Source{Source: l.Source, Commit: "c1", TreeDigest: "d1"}
	var mu sync.Mutex
	var ops []string
	steps := make([]*controlplane.DeployStep, 2)
	var wg sync.WaitGroup
	for i := range steps {
		name := fmt.Sprint("apply-", i)
		wg.Go(func() {
			sess, err := wf.Begin(ctx, store.RunApply, src, workflow.ModeApply)
			if err != nil {
				t.Error(err)
				return
			}
			opts := deploy.Options{StateDir: state, Logger: log, Store: controlplane.NewMoveStore(movesTrace{Moves: db, name: name, mu: &mu, ops: &ops})}
			steps[i] = controlplane.ApplyDeploy(ctx, log, db, "tester", src.RepoID(), l.Config, plan, &workflow.ApplyResult{}, opts, sess)
			// The lock is the session's until it closes: what the apply does
			// after its deploy step (decommissioning) is still serialized.
			time.Sleep(100 * time.Millisecond)
			sess.Close(nil, nil)
		})
	}
	wg.Wait()
	for i, s := range steps {
		if s == nil || (s.Status != controlplane.DeployCommitted && s.Status != controlplane.DeployUnchanged) {
			t.Fatalf("apply %d's deploy step: %+v", i, s)
		}
	}
	if steps[0].Status == steps[1].Status {
		t.Errorf("deploy steps %s and %s: one apply commits the tree, the one after it finds it there", steps[0].Status, steps[1].Status)
	}
	// Each apply's reads and writes of the move records form one block.
	switches := 0
	for i := 1; i < len(ops); i++ {
		if strings.Fields(ops[i])[0] != strings.Fields(ops[i-1])[0] {
			switches++
		}
	}
	if switches != 1 {
		t.Errorf("the deploy steps interleaved on the move records:\n%s", strings.Join(ops, "\n"))
	}
	for _, op := range ops {
		if strings.HasSuffix(op, " save") {
			t.Errorf("%s: move records of an apply must be written under the deploy lock's fence", op)
		}
	}
	if !strings.Contains(logs.String(), "waiting for lock on target "+store.DeployLockTarget+": position 1 of 1") {
		t.Errorf("the second apply must say where it waits; the log:\n%s", logs.String())
	}
	if ls, err := db.ListLocks(ctx, src.RepoID()); err != nil || len(ls) != 0 {
		t.Errorf("locks left after both sessions closed: %+v, %v", ls, err)
	}
}
