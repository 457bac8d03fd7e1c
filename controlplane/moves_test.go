package controlplane_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/gittest"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/store/sqlite"
)

// crashingStore fails the failAt-th SaveMoves, as a meridian killed
// between two writes would leave things.
type crashingStore struct {
	deploy.MoveStore
	saves, failAt int
}

func (s *crashingStore) SaveMoves(ctx context.Context, scope string, ms []deploy.Move) error {
	s.saves++
	if s.saves == s.failAt {
		return errors.New("killed")
	}
	return s.MoveStore.SaveMoves(ctx, scope, ms)
}

// TestMoveResumesThroughStore moves a workload of the example and stops
// meridian right after the move's first commit is pushed, before it
// records that. A new process, with a new handle on the same SQLite file,
// must keep the old placement, count move_grace from its restart, and then
// finish the move: the move is never forgotten.
func TestMoveResumesThroughStore(t *testing.T) {
	gittest.CLI(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	l := loadExample(t)
	p, err := planner.New(planner.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(ctx, planner.Input{Config: l.Config, FS: l.FS, Repo: l.Source})
	if err != nil {
		t.Fatal(err)
	}
	const w, from, to = "docs-site", "onprem-fra-dc1", "onprem-dal-dc2"
	moved := *plan
	moved.ID = "feedfacefeedface"
	moved.Placements = append([]meridian.Placement(nil), plan.Placements...)
	var found bool
	for i := range moved.Placements {
		if moved.Placements[i].Workload == w && moved.Placements[i].Target == from {
			moved.Placements[i].Target, found = to, true
		}
	}
	if !found {
		t.Fatalf("the example no longer places %s on %s; pick another workload", w, from)
	}

	state := t.TempDir()
	open := func() *sqlite.DB {
		t.Helper()
		db, err := sqlite.Open(ctx, filepath.Join(state, "meridian.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The options `meridian apply` uses: the deploy repo under the state
	// dir, moves kept in the store.
	options := func(db *sqlite.DB, now time.Time) deploy.Options {
		return deploy.Options{StateDir: state, Logger: log, Store: controlplane.NewMoveStore(db), Now: func() time.Time { return now }}
	}
	scope := deploy.Scope(deploy.LocalRepoDir(state), "main", "clusters/prod")
	files := func() map[string]string { return readDir(t, filepath.Join(deployClone(t, state), "clusters", "prod")) }
	oldApp, newApp := "apps/"+w+"/"+from+".yaml", "apps/"+w+"/"+to+".yaml"

	db := open()
	if _, err := deploy.Apply(ctx, l.Config, plan, options(db, t0)); err != nil {
		t.Fatal(err)
	}
	// Saves of an apply: the intent before the first commit, the move
	// after it, the moves left at the end. The second one dies.
	opts := options(db, t0)
	opts.Store = &crashingStore{MoveStore: opts.Store, failAt: 2}
	if _, err := deploy.Apply(ctx, l.Config, &moved, opts); err == nil {
		t.Fatal("the injected crash must fail the apply")
	}
	if f := files(); f[oldApp] == "" || f[newApp] == "" {
		t.Fatalf("the first commit of the move must be pushed and keep the old placement: %s %t, %s %t", oldApp, f[oldApp] != "", newApp, f[newApp] != "")
	}
	recs, err := db.LoadMoves(ctx, scope)
	if err != nil || len(recs) != 1 || recs[0].State != string(deploy.PhaseAdding) {
		t.Fatalf("the move must be recorded as adding before its commit is pushed: %+v, %v", recs, err)
	}
	db.Close()

	// Restart: a new process opens the same store.
	db = open()
	defer db.Close()
	res, err := deploy.Apply(ctx, l.Config, &moved, options(db, t0.Add(2*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]deploy.MoveResult{{Workload: w, From: []string{from}, To: []string{to}, Status: deploy.MoveWaiting}},
		res.Moves, cmpIgnoreDetail); len(res.Commits) != 0 || diff != "" {
		t.Fatalf("after the restart the move must wait, without a commit: commits %d (-want +got):\n%s", len(res.Commits), diff)
	}
	ms, err := controlplane.NewMoveStore(db).LoadMoves(ctx, scope)
	if err != nil || len(ms) != 1 || ms[0].Phase != deploy.PhaseWaiting || !ms[0].Since.Equal(t0.Add(2*time.Minute)) || ms[0].PlanID != moved.ID {
		t.Fatalf("move_grace must count from the restart: %+v, %v", ms, err)
	}
	if f := files(); f[oldApp] == "" {
		t.Fatal("the old placement must stay while the move waits")
	}

	res, err = deploy.Apply(ctx, l.Config, &moved, options(db, t0.Add(13*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Moves) != 1 || res.Moves[0].Status != deploy.MoveCompleted || len(res.Commits) != 1 {
		t.Fatalf("past move_grace the move must complete in one commit: %+v, %d commits", res.Moves, len(res.Commits))
	}
	if f := files(); f[oldApp] != "" || f[newApp] == "" {
		t.Errorf("after the move %s must be gone and %s stay", oldApp, newApp)
	}
	if recs, err := db.LoadMoves(ctx, scope); err != nil || len(recs) != 0 {
		t.Errorf("a completed move must leave the store: %+v, %v", recs, err)
	}
}

var cmpIgnoreDetail = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Detail" }, cmp.Ignore())

// TestMoveStoreRoundTrip checks the mapping between deploy's moves and the
// store's records field by field.
func TestMoveStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := controlplane.NewMoveStore(db)
	want := []deploy.Move{
		{Workload: "api", From: []string{"a", "b"}, To: []string{"c"}, Phase: deploy.PhaseAdding, PlanID: "p1"},
		{Workload: "web", From: []string{"x"}, To: []string{"y", "z"}, Phase: deploy.PhaseWaiting, PlanID: "p2", AddCommit: "0123abcd",
			Since: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC), Attempts: 2, LastError: "web.y: OutOfSync"},
	}
	if err := s.SaveMoves(ctx, "scope", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadMoves(ctx, "scope")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// loadExample reads a copy of examples/hybrid outside Git, so that nothing
// depends on this checkout.
func loadExample(t testing.TB) *controlplane.Snapshot {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hybrid")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("..", "examples", "hybrid"))); err != nil {
		t.Fatal(err)
	}
	l := controlplane.NewGitLoader(controlplane.GitLoaderOptions{Source: dst})
	snap, err := l.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// readDir reads every file below dir, by slash path.
func readDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// deployClone clones the local deploy repo of a state dir with the git
// CLI, as an operator would.
func deployClone(t testing.TB, state string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deploy")
	cmd := exec.Command("git", "clone", "-q", "--branch", "main", filepath.Join(state, "deploy.git"), dir)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return dir
}
