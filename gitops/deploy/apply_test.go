package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/argocd"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// t0 is the fake clock's start; tests move it past move_grace.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// movedPlan moves web from azure-westeurope to onprem-fra.
func movedPlan() *meridian.Plan {
	p := basicPlan()
	p.ID = "1111222233334444"
	for i := range p.Placements {
		if p.Placements[i].Workload == "web" {
			p.Placements[i].Target = "onprem-fra"
		}
	}
	return p
}

// newBareRepo creates an empty bare repository and returns its folder.
func newBareRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deploy.git")
	if _, err := git.PlainInit(dir, true); err != nil {
		t.Fatal(err)
	}
	return dir
}

// repoState reads the deploy branch: its commits (newest first) and the
// files under deploy.path.
type repoState struct {
	commits []*object.Commit
	files   deploy.Tree
	all     []string
}

func readRepo(t *testing.T, dir, branch, prefix string) repoState {
	t.Helper()
	g, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.Reference(plumbing.NewBranchReferenceName(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return repoState{files: deploy.Tree{}}
	}
	if err != nil {
		t.Fatal(err)
	}
	var st repoState
	for c, _ := g.CommitObject(ref.Hash()); c != nil; {
		st.commits = append(st.commits, c)
		if c.NumParents() == 0 {
			break
		}
		c, _ = c.Parent(0)
	}
	tree, err := st.commits[0].Tree()
	if err != nil {
		t.Fatal(err)
	}
	st.files = deploy.Tree{}
	err = tree.Files().ForEach(func(f *object.File) error {
		st.all = append(st.all, f.Name)
		if rel, ok := strings.CutPrefix(f.Name, prefix+"/"); ok {
			s, err := f.Contents()
			st.files[rel] = []byte(s)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// seedRepo commits README.md at the repository root as someone else, to
// check that Meridian leaves files outside deploy.path alone.
func seedRepo(t *testing.T, dir, branch string) {
	t.Helper()
	commitAs(t, dir, branch, map[string]string{"README.md": "# deploy repo\n"}, nil)
}

// commitAs commits on top of a bare repository's branch as a person would:
// it checks the branch out into a scratch worktree, writes and removes
// files, commits as Jane Ops, and copies the objects and the branch back,
// as a push would. It needs no git binary.
func commitAs(t *testing.T, bareDir, branch string, write map[string]string, remove []string) {
	t.Helper()
	bare, err := git.PlainOpen(bareDir)
	if err != nil {
		t.Fatal(err)
	}
	wtDir := t.TempDir()
	wt, err := git.PlainInit(wtDir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := copyObjects(bare, wt); err != nil {
		t.Fatal(err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	if err := wt.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, name)); err != nil {
		t.Fatal(err)
	}
	w, err := wt.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := bare.Reference(name, true); err == nil {
		if err := wt.Storer.SetReference(plumbing.NewHashReference(name, ref.Hash())); err != nil {
			t.Fatal(err)
		}
		if err := w.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset}); err != nil {
			t.Fatal(err)
		}
	}
	for p, s := range write {
		full := filepath.Join(wtDir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range remove {
		if _, err := w.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Jane Ops", Email: "jane@example.com", When: t0}
	h, err := w.Commit("hand edit", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	if err := copyObjects(wt, bare); err != nil {
		t.Fatal(err)
	}
	if err := bare.Storer.SetReference(plumbing.NewHashReference(name, h)); err != nil {
		t.Fatal(err)
	}
}

// copyObjects copies every object of one repository into another.
func copyObjects(from, to *git.Repository) error {
	iter, err := from.Storer.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return err
	}
	return iter.ForEach(func(o plumbing.EncodedObject) error {
		_, err := to.Storer.SetEncodedObject(o)
		return err
	})
}

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func commitSummary(res *deploy.Result) []string {
	var out []string
	for _, c := range res.Commits {
		first, _, _ := strings.Cut(c.Message, "\n")
		out = append(out, first)
	}
	return out
}

func moveSummary(res *deploy.Result) []string {
	var out []string
	for _, m := range res.Moves {
		out = append(out, m.Workload+" "+strings.Join(m.From, ",")+"->"+strings.Join(m.To, ",")+" "+m.Status)
	}
	return out
}

// TestApplyRoundTrip commits to a real bare repository, through a local
// path (written in place) and through a file:// URL (cloned and pushed with
// go-git's transport): render, commit, push, re-apply with no commit, then
// move a workload in two steps over move_grace.
func TestApplyRoundTrip(t *testing.T) {
	cases := map[string]struct {
		reason string
		repo   func(dir string) string
		seed   bool
	}{
		"local path": {
			reason: "deploy.repo as a path to a bare repository that does not exist yet",
			repo:   func(dir string) string { return filepath.Join(filepath.Dir(dir), "fresh.git") },
		},
		"file URL": {
			reason: "deploy.repo as a Git URL, with someone else's README outside deploy.path",
			repo:   func(dir string) string { return "file://" + dir },
			seed:   true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(tc.repo("/x"), "file://") {
				if _, err := exec.LookPath("git"); err != nil {
					t.Skip("SKIPPED: go-git's file:// transport runs git-upload-pack and git-receive-pack, and git is not installed")
				}
			}
			dir := newBareRepo(t)
			if tc.seed {
				seedRepo(t, dir, "main")
			}
			repoArg := tc.repo(dir)
			gitDir := strings.TrimPrefix(repoArg, "file://")
			cfg := loadConfig(t)
			cfg.Settings.Deploy.Repo = repoArg
			clk := &clock{now: t0}
			store := &deploy.MemStore{}
			opts := deploy.Options{Store: store, Now: clk.Now, StateDir: t.TempDir()}
			ctx := context.Background()

			// 1. First apply: one commit holding the rendered tree.
			res, err := deploy.Apply(ctx, cfg, basicPlan(), opts)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if diff := cmp.Diff([]string{"meridian: apply plan 0123456789abcdef"}, commitSummary(res)); diff != "" {
				t.Errorf("first apply commits (-want +got):\n%s", diff)
			}
			st := readRepo(t, gitDir, "main", "clusters/prod")
			want, err := deploy.Render(cfg, basicPlan(), deploy.RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Tree, st.files); diff != "" {
				t.Errorf("deploy repo differs from the rendered tree (-want +got):\n%s", diff)
			}
			msg := st.commits[0].Message
			for _, s := range []string{"Meridian-Plan: 0123456789abcdef", "Meridian-Config-Commit: c0ffee0000000000000000000000000000000000"} {
				if !strings.Contains(msg, s) {
					t.Errorf("commit message lacks %q:\n%s", s, msg)
				}
			}
			if tc.seed && (len(st.commits) != 2 || !contains(st.all, "README.md")) {
				t.Errorf("files outside deploy.path must stay: commits %d, files %v", len(st.commits), st.all)
			}

			// 2. Same plan again: rendering is deterministic, so no commit.
			res, err = deploy.Apply(ctx, cfg, basicPlan(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Commits) != 0 || len(res.Files) != 0 {
				t.Errorf("re-applying the same plan made commits %v, files %d", commitSummary(res), len(res.Files))
			}

			// 3. Move web: the first apply adds onprem-fra and keeps azure.
			res, err = deploy.Apply(ctx, cfg, movedPlan(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"web azure-westeurope->onprem-fra started"}, moveSummary(res)); diff != "" {
				t.Errorf("moves after step 1 (-want +got):\n%s", diff)
			}
			st = readRepo(t, gitDir, "main", "clusters/prod")
			for _, p := range []string{"apps/web/onprem-fra.yaml", "apps/web/azure-westeurope.yaml", "infra/web/azure-westeurope/vault.yaml"} {
				if _, ok := st.files[p]; !ok {
					t.Errorf("after step 1 the repo must hold %s", p)
				}
			}
			if diff := cmp.Diff([]string{"MER-DEPLOY-001 legacy onprem-fra warn", "MER-DEPLOY-002 web azure-westeurope info"}, findingKeys(res.Findings)); diff != "" {
				t.Errorf("findings after step 1 (-want +got):\n%s", diff)
			}

			// 4. Within move_grace: nothing to do yet.
			clk.Set(t0.Add(5 * time.Minute))
			res, err = deploy.Apply(ctx, cfg, movedPlan(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Commits) != 0 || moveSummary(res)[0] != "web azure-westeurope->onprem-fra waiting" {
				t.Errorf("within move_grace: commits %v, moves %v", commitSummary(res), moveSummary(res))
			}

			// 5. After move_grace the second commit removes azure.
			clk.Set(t0.Add(11 * time.Minute))
			res, err = deploy.Apply(ctx, cfg, movedPlan(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"meridian: finish moves of plan 1111222233334444"}, commitSummary(res)); diff != "" {
				t.Errorf("step 2 commits (-want +got):\n%s", diff)
			}
			st = readRepo(t, gitDir, "main", "clusters/prod")
			want, _ = deploy.Render(cfg, movedPlan(), deploy.RenderOptions{})
			if diff := cmp.Diff(want.Tree, st.files); diff != "" {
				t.Errorf("after the move the repo must hold exactly the new plan (-want +got):\n%s", diff)
			}
			if !strings.Contains(st.commits[0].Message, "Meridian-Step: 2/2") {
				t.Errorf("step 2 commit message:\n%s", st.commits[0].Message)
			}
			if ms, _ := store.LoadMoves(ctx, deploy.Scope(repoArg, "main", "clusters/prod")); len(ms) != 0 {
				t.Errorf("store still holds moves: %+v", ms)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// fakeArgo answers Get from the recorded Application fixture: each named
// Application goes through the given statuses, one per call, and then
// stays at the last. Sync calls are recorded.
type fakeArgo struct {
	mu     sync.Mutex
	steps  []string // "missing", "outofsync", "synced"
	calls  map[string]int
	synced []string
	t      *testing.T
}

func (f *fakeArgo) Get(_ context.Context, name string) (*argocd.Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	i := min(f.calls[name], len(f.steps)-1)
	f.calls[name]++
	switch f.steps[i] {
	case "missing":
		return nil, &meridian.Error{Code: meridian.ENOTFOUND, Message: "applications.argoproj.io \"" + name + "\" not found"}
	case "outofsync":
		return recordedApp(f.t, name, "status-snippet.outofsync.health-persisted.yaml"), nil
	}
	return recordedApp(f.t, name, ""), nil
}

func (f *fakeArgo) Sync(_ context.Context, name string, _ argocd.SyncRequest) (*argocd.Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced = append(f.synced, name)
	return recordedApp(f.t, name, ""), nil
}

func (f *fakeArgo) List(_ context.Context, _ string) ([]argocd.Application, error) { return nil, nil }

// recordedApp is Argo CD's recorded Application (Synced/Healthy), renamed,
// with its status replaced by a documented snippet when one is given.
func recordedApp(t testing.TB, name, snippet string) *argocd.Application {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "argocd", "testdata", "application.synced-healthy.diff-cache.json"))
	if err != nil {
		t.Fatal(err)
	}
	var app argocd.Application
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatal(err)
	}
	app.Metadata.Name = name
	if snippet != "" {
		f, err := os.Open(filepath.Join("..", "argocd", "testdata", snippet))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		raw, _ := io.ReadAll(f)
		var doc struct {
			Status map[string]any `yaml:"status"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(doc.Status)
		app.Status = &argocd.ApplicationStatus{}
		if err := json.Unmarshal(j, app.Status); err != nil {
			t.Fatal(err)
		}
	}
	return &app
}

// TestApplyMoveWithArgoCD moves a workload with an Argo CD server: the
// second commit follows in the same apply once Argo CD reports the new
// Application Synced and Healthy, and never when it does not.
func TestApplyMoveWithArgoCD(t *testing.T) {
	cases := map[string]struct {
		reason      string
		steps       []string
		wantCommits []string
		wantMoves   []string
		wantFinding []string
		keepsOld    bool
		// timeout is argocd.health_timeout: long where the wait must
		// succeed, short where it must give up.
		timeout time.Duration
	}{
		"becomes healthy": {
			reason:      "not created, then OutOfSync, then Synced/Healthy: the old placement goes in a second commit",
			steps:       []string{"missing", "outofsync", "synced"},
			wantCommits: []string{"meridian: apply plan 1111222233334444", "meridian: finish moves of plan 1111222233334444"},
			wantMoves:   []string{"web azure-westeurope->onprem-fra completed"},
			wantFinding: []string{"MER-DEPLOY-001 legacy onprem-fra warn"},
			timeout:     time.Minute,
		},
		"stays out of sync": {
			reason:      "a new placement that never becomes Synced keeps the old one and raises a finding",
			steps:       []string{"outofsync"},
			wantCommits: []string{"meridian: apply plan 1111222233334444"},
			wantMoves:   []string{"web azure-westeurope->onprem-fra started"},
			wantFinding: []string{"MER-DEPLOY-001 legacy onprem-fra warn", "MER-DEPLOY-002 web azure-westeurope warn"},
			keepsOld:    true,
			timeout:     100 * time.Millisecond,
		},
		"never created": {
			reason:      "Argo CD never creating the new Application is a timeout too",
			steps:       []string{"missing"},
			wantCommits: []string{"meridian: apply plan 1111222233334444"},
			wantMoves:   []string{"web azure-westeurope->onprem-fra started"},
			wantFinding: []string{"MER-DEPLOY-001 legacy onprem-fra warn", "MER-DEPLOY-002 web azure-westeurope warn"},
			keepsOld:    true,
			timeout:     100 * time.Millisecond,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := newBareRepo(t)
			cfg := loadConfig(t)
			cfg.Settings.Deploy.Repo = dir
			cfg.Settings.ArgoCD.Server = "https://argocd.example.com"
			cfg.Settings.ArgoCD.HealthTimeout = tc.timeout
			argo := &fakeArgo{steps: []string{"synced"}, t: t}
			store := &deploy.MemStore{}
			opts := deploy.Options{Store: store, ArgoCD: argo, PollInterval: time.Millisecond, Now: (&clock{now: t0}).Now}
			ctx := context.Background()
			if _, err := deploy.Apply(ctx, cfg, basicPlan(), opts); err != nil {
				t.Fatal(err)
			}
			argo.steps, argo.calls, argo.synced = tc.steps, nil, nil
			res, err := deploy.Apply(ctx, cfg, movedPlan(), opts)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.wantCommits, commitSummary(res)); diff != "" {
				t.Errorf("%s: commits (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantMoves, moveSummary(res)); diff != "" {
				t.Errorf("%s: moves (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantFinding, findingKeys(res.Findings)); diff != "" {
				t.Errorf("%s: findings (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff([]string{"meridian-clusters-prod"}, argo.synced); diff != "" {
				t.Errorf("the root app must be synced after step 1 (-want +got):\n%s", diff)
			}
			st := readRepo(t, dir, "main", "clusters/prod")
			if _, ok := st.files["apps/web/azure-westeurope.yaml"]; ok != tc.keepsOld {
				t.Errorf("%s: old Application in repo = %v, want %v", tc.reason, ok, tc.keepsOld)
			}
			ms, _ := store.LoadMoves(ctx, deploy.Scope(dir, "main", "clusters/prod"))
			if tc.keepsOld && (len(ms) != 1 || ms[0].Attempts != 1 || ms[0].LastError == "") {
				t.Errorf("%s: the held move must be saved with its failure, got %+v", tc.reason, ms)
			}
			if !tc.keepsOld && len(ms) != 0 {
				t.Errorf("%s: a completed move must leave the store, got %+v", tc.reason, ms)
			}
		})
	}
}

// flakyStore fails the failAt-th SaveMoves, the way a crash between two
// writes would leave things.
type flakyStore struct {
	deploy.MemStore
	saves, failAt int
}

func (s *flakyStore) SaveMoves(ctx context.Context, scope string, ms []deploy.Move) error {
	s.saves++
	if s.saves == s.failAt {
		return errors.New("disk full")
	}
	return s.MemStore.SaveMoves(ctx, scope, ms)
}

// TestApplyResumesAfterRestart stops Meridian right after the first commit
// of a move is pushed, before it records that: a new process with the same
// store must keep the old placement, wait out move_grace from its restart,
// and then finish the move.
func TestApplyResumesAfterRestart(t *testing.T) {
	dir := newBareRepo(t)
	cfg := loadConfig(t)
	cfg.Settings.Deploy.Repo = dir
	ctx := context.Background()
	clk := &clock{now: t0}
	store := &flakyStore{}
	if _, err := deploy.Apply(ctx, cfg, basicPlan(), deploy.Options{Store: store, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	// Saves: 1-2 by the first apply, 3 (intent) and 4 (after commit) by the
	// second; 4 fails.
	store.saves, store.failAt = 2, 4
	if _, err := deploy.Apply(ctx, cfg, movedPlan(), deploy.Options{Store: store, Now: clk.Now}); err == nil {
		t.Fatal("the injected store failure must fail the apply")
	}
	st := readRepo(t, dir, "main", "clusters/prod")
	if _, ok := st.files["apps/web/onprem-fra.yaml"]; !ok {
		t.Fatal("step 1 should have been pushed before the failure")
	}
	ms, _ := store.LoadMoves(ctx, deploy.Scope(dir, "main", "clusters/prod"))
	if len(ms) != 1 || ms[0].Phase != deploy.PhaseAdding {
		t.Fatalf("the intent must be saved before step 1 is published, got %+v", ms)
	}

	// Restart: a new process, the same store.
	restarted := &deploy.MemStore{}
	restarted.SaveMoves(ctx, deploy.Scope(dir, "main", "clusters/prod"), ms)
	clk.Set(t0.Add(2 * time.Minute))
	res, err := deploy.Apply(ctx, cfg, movedPlan(), deploy.Options{Store: restarted, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Commits) != 0 || moveSummary(res)[0] != "web azure-westeurope->onprem-fra waiting" {
		t.Fatalf("after restart the move must wait: commits %v, moves %v", commitSummary(res), moveSummary(res))
	}
	ms, _ = restarted.LoadMoves(ctx, deploy.Scope(dir, "main", "clusters/prod"))
	if len(ms) != 1 || ms[0].Phase != deploy.PhaseWaiting || !ms[0].Since.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("move_grace must count from the restart, got %+v", ms)
	}
	clk.Set(t0.Add(11 * time.Minute))
	if res, err = deploy.Apply(ctx, cfg, movedPlan(), deploy.Options{Store: restarted, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	if len(res.Commits) != 0 {
		t.Errorf("10m after the restart is not yet 10m after the move was recorded: %v", commitSummary(res))
	}
	clk.Set(t0.Add(13 * time.Minute))
	if res, err = deploy.Apply(ctx, cfg, movedPlan(), deploy.Options{Store: restarted, Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web azure-westeurope->onprem-fra completed"}, moveSummary(res)); diff != "" {
		t.Errorf("the resumed move must complete (-want +got):\n%s", diff)
	}
	st = readRepo(t, dir, "main", "clusters/prod")
	if _, ok := st.files["apps/web/azure-westeurope.yaml"]; ok {
		t.Error("the old placement must be gone after the resumed move")
	}
}
