package gitops

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestLoadDirectoryOutsideGit(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "meridian.yaml"), "currency: USD\n")

	got := mustLoad(t, dir, "", testOptions(t, nil))

	if diff := cmp.Diff(&Snapshot{Source: dir}, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if c := readFS(got.FS, "meridian.yaml"); c != "currency: USD\n" {
		t.Errorf("meridian.yaml = %q", c)
	}
}

func isFSField(p cmp.Path) bool { return p.Last().String() == ".FS" }

// dirtyCase builds a worktree whose config lives in config/ and changes it.
type dirtyCase struct {
	reason string
	// change runs after the initial commit of config/a.yaml,
	// config/sub/b.yaml, other/c.yaml, .gitignore and config/.gitignore.
	change func(r *testRepo)
	// dir is the folder loaded, relative to the worktree.
	dir       string
	wantDirty bool
}

func TestLoadDirectoryDirty(t *testing.T) {
	cases := map[string]dirtyCase{
		"clean subfolder": {
			reason: "a committed folder is clean",
			change: func(*testRepo) {},
			dir:    "config",
		},
		"clean root": {
			reason: "the worktree root is a valid config root too",
			change: func(*testRepo) {},
			dir:    ".",
		},
		"modified tracked file": {
			reason: "an edit not yet committed must mark the plan",
			change: func(r *testRepo) { r.write("config/a.yaml", "a: 2\n") },
			dir:    "config", wantDirty: true,
		},
		"modified in nested folder": {
			reason: "changes deep inside the config folder count",
			change: func(r *testRepo) { r.write("config/sub/b.yaml", "b: 2\n") },
			dir:    "config", wantDirty: true,
		},
		"modified outside the folder": {
			reason: "only the config folder matters, not the rest of a monorepo",
			change: func(r *testRepo) { r.write("other/c.yaml", "c: 2\n") },
			dir:    "config",
		},
		"untracked outside the folder": {
			reason: "only the config folder matters, not the rest of a monorepo",
			change: func(r *testRepo) { r.write("other/new.yaml", "x\n") },
			dir:    "config",
		},
		"modified outside, loading root": {
			reason: "at the root, every file is in the config folder",
			change: func(r *testRepo) { r.write("other/c.yaml", "c: 2\n") },
			dir:    ".", wantDirty: true,
		},
		"untracked file": {
			reason: "a new workload file not yet added is part of what is planned",
			change: func(r *testRepo) { r.write("config/new.yaml", "n: 1\n") },
			dir:    "config", wantDirty: true,
		},
		"untracked file in new folder": {
			reason: "Git reports the folder; any file in it counts",
			change: func(r *testRepo) { r.write("config/new/deep/x.yaml", "n: 1\n") },
			dir:    "config", wantDirty: true,
		},
		"untracked file ignored by root .gitignore": {
			reason: "ignored files are not part of the config",
			change: func(r *testRepo) { r.write("config/scratch.tmp", "x\n") },
			dir:    "config",
		},
		"untracked file ignored by the folder's .gitignore": {
			reason: "a .gitignore inside the config folder applies",
			change: func(r *testRepo) { r.write("config/sub/local.secret", "x\n") },
			dir:    "config",
		},
		"untracked files in ignored directory": {
			reason: "ignored directories are skipped whole, as Git does",
			change: func(r *testRepo) { r.write("config/.cache/a/b.yaml", "x\n") },
			dir:    "config",
		},
		"negated ignore pattern": {
			reason: "a !pattern re-includes a file, which then counts",
			change: func(r *testRepo) { r.write("config/keep.tmp", "x\n") },
			dir:    "config", wantDirty: true,
		},
		"ignored by info/exclude": {
			reason: "repository-local excludes are honoured",
			change: func(r *testRepo) {
				r.write(".git/info/exclude", "*.local\n")
				r.write("config/me.local", "x\n")
			},
			dir: "config",
		},
		"anchored pattern in parent .gitignore": {
			reason: "a parent's pattern with a slash is anchored to the parent",
			change: func(r *testRepo) {
				r.write(".gitignore", "*.tmp\n!keep.tmp\n/config/generated/\n")
				r.commit("ignore generated")
				r.write("config/generated/out.yaml", "x\n")
			},
			dir: "config",
		},
		"config folder itself ignored": {
			reason: "untracked files in an ignored folder are ignored, even when it is the config root",
			change: func(r *testRepo) {
				r.write(".gitignore", "*.tmp\n!keep.tmp\nconfig/\n")
				r.commit("ignore config")
				r.write("config/new.yaml", "x\n")
			},
			dir: "config",
		},
		"empty untracked directory": {
			reason: "Git does not track directories, so an empty one is no change",
			change: func(r *testRepo) {
				if err := os.MkdirAll(r.path("config/empty"), 0o755); err != nil {
					r.t.Fatal(err)
				}
			},
			dir: "config",
		},
		"tracked file modified though ignored": {
			reason: "ignore rules never hide changes to tracked files",
			change: func(r *testRepo) {
				r.git("add", "-f", "config/forced.tmp")
				r.commit("force-add an ignored file")
				r.write("config/forced.tmp", "changed\n")
			},
			dir: "config", wantDirty: true,
		},
		"deleted tracked file": {
			reason: "a removed file changes the config",
			change: func(r *testRepo) {
				if err := os.Remove(r.path("config/a.yaml")); err != nil {
					r.t.Fatal(err)
				}
			},
			dir: "config", wantDirty: true,
		},
		"staged change": {
			reason: "staged but uncommitted is still uncommitted",
			change: func(r *testRepo) {
				r.write("config/a.yaml", "a: 2\n")
				r.git("add", "config/a.yaml")
			},
			dir: "config", wantDirty: true,
		},
		"staged then reverted on disk": {
			reason: "the index differs from HEAD even though the disk matches it",
			change: func(r *testRepo) {
				r.write("config/a.yaml", "a: 2\n")
				r.git("add", "config/a.yaml")
				r.write("config/a.yaml", "a: 1\n")
			},
			dir: "config", wantDirty: true,
		},
		"staged deletion": {
			reason: "git rm without commit",
			change: func(r *testRepo) { r.git("rm", "-q", "config/sub/b.yaml") },
			dir:    "config", wantDirty: true,
		},
		"mode change": {
			reason: "the executable bit is part of the commit",
			change: func(r *testRepo) {
				if err := os.Chmod(r.path("config/a.yaml"), 0o755); err != nil {
					r.t.Fatal(err)
				}
			},
			dir: "config", wantDirty: true,
		},
		"mode change with core.fileMode false": {
			reason: "repositories that ignore the executable bit must not look dirty",
			change: func(r *testRepo) {
				r.git("config", "core.fileMode", "false")
				if err := os.Chmod(r.path("config/a.yaml"), 0o755); err != nil {
					r.t.Fatal(err)
				}
			},
			dir: "config",
		},
		"touched but unchanged": {
			reason: "a new mtime with the same content is not a change",
			change: func(r *testRepo) {
				future := time.Now().Add(time.Hour)
				if err := os.Chtimes(r.path("config/a.yaml"), future, future); err != nil {
					r.t.Fatal(err)
				}
			},
			dir: "config",
		},
		"same size rewrite": {
			reason: "content is compared, not just sizes",
			change: func(r *testRepo) { r.write("config/a.yaml", "a: 9\n") },
			dir:    "config", wantDirty: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.write(
				"config/a.yaml", "a: 1\n",
				"config/sub/b.yaml", "b: 1\n",
				"config/forced.tmp", "forced\n",
				"config/.gitignore", "*.secret\n.cache/\n",
				"other/c.yaml", "c: 1\n",
				".gitignore", "*.tmp\n!keep.tmp\n",
			)
			r.commit("initial")
			tc.change(r)

			dir := filepath.Join(r.dir, tc.dir)
			got := mustLoad(t, dir, "", testOptions(t, nil))

			want := &Snapshot{Source: dir, Ref: "main", Commit: r.head(), Dirty: tc.wantDirty}
			if diff := cmp.Diff(want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
				t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
			}
			if gitDirty := runGit(t, r.dir, "status", "--porcelain", "--", tc.dir) != ""; gitDirty != tc.wantDirty {
				t.Errorf("test case disagrees with git status: git says dirty=%v", gitDirty)
			}
		})
	}
}

func TestLoadDirectoryReadsDisk(t *testing.T) {
	r := newRepo(t)
	r.write("config/a.yaml", "a: 1\n")
	r.commit("initial")
	r.write("config/a.yaml", "a: uncommitted\n")

	got := mustLoad(t, r.path("config"), "", testOptions(t, nil))

	if c := readFS(got.FS, "a.yaml"); c != "a: uncommitted\n" {
		t.Errorf("a.yaml = %q, want the working copy", c)
	}
}

func TestLoadDirectoryRepoStates(t *testing.T) {
	cases := map[string]struct {
		reason string
		setup  func(r *testRepo) (want *Snapshot)
	}{
		"no commits yet": {
			reason: "a fresh repository has no commit to name, and its files are uncommitted",
			setup: func(r *testRepo) *Snapshot {
				r.write("a.yaml", "a: 1\n")
				return &Snapshot{Dirty: true}
			},
		},
		"detached HEAD": {
			reason: "CI checks out a SHA; Ref is then that SHA",
			setup: func(r *testRepo) *Snapshot {
				r.write("a.yaml", "a: 1\n")
				c1 := r.commit("one")
				r.write("a.yaml", "a: 2\n")
				r.commit("two")
				r.git("checkout", "-q", "--detach", c1)
				return &Snapshot{Ref: c1, Commit: c1}
			},
		},
		"other branch": {
			reason: "Ref names the checked-out branch",
			setup: func(r *testRepo) *Snapshot {
				r.write("a.yaml", "a: 1\n")
				r.commit("one")
				r.git("checkout", "-q", "-b", "feature/x")
				c := r.commit("two")
				return &Snapshot{Ref: "feature/x", Commit: c}
			},
		},
		"linked worktree": {
			reason: "git worktree add puts a .git file in the folder; HEAD is that worktree's",
			setup: func(r *testRepo) *Snapshot {
				r.write("a.yaml", "a: 1\n")
				r.commit("one")
				r.git("branch", "other")
				wt := filepath.Join(r.t.TempDir(), "wt")
				r.git("worktree", "add", "-q", wt, "other")
				r.dir = wt
				r.write("a.yaml", "a: 2\n")
				c := r.commit("in worktree")
				r.write("new.yaml", "n\n")
				return &Snapshot{Ref: "other", Commit: c, Dirty: true}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			want := tc.setup(r)
			want.Source = r.dir

			got := mustLoad(t, r.dir, "", testOptions(t, nil))

			if diff := cmp.Diff(want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
				t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLoadDirectoryAtRef(t *testing.T) {
	r := newRepo(t)
	r.write("config/a.yaml", "a: 1\n", "README", "x\n")
	c1 := r.commit("one")
	r.git("tag", "v1")
	r.write("config/a.yaml", "a: 2\n")
	r.commit("two")
	r.write("config/a.yaml", "a: dirty\n")

	cases := map[string]struct {
		reason   string
		dir, ref string
		want     *Snapshot
		wantA    string
		wantCode string
	}{
		"tag in subfolder": {
			reason: "a ref reads the folder as committed at that ref, ignoring the disk",
			dir:    "config", ref: "v1",
			want:  &Snapshot{Ref: "v1", Commit: c1},
			wantA: "a: 1\n",
		},
		"short sha": {
			reason: "abbreviated SHAs resolve in the enclosing repository",
			dir:    "config", ref: c1[:8],
			want:  &Snapshot{Ref: c1, Commit: c1},
			wantA: "a: 1\n",
		},
		"folder missing at ref": {
			reason: "a folder that did not exist yet is not found, not empty",
			dir:    "config/new", ref: "v1",
			wantCode: meridian.ENOTFOUND,
		},
		"unknown ref": {
			reason: "a typo in a ref is a not-found error",
			dir:    "config", ref: "nope",
			wantCode: meridian.ENOTFOUND,
		},
	}
	if err := os.MkdirAll(r.path("config/new"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := r.path(tc.dir)
			got, err := Load(t.Context(), dir, tc.ref, testOptions(t, nil))
			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if err != nil {
				return
			}
			tc.want.Source = dir
			if diff := cmp.Diff(tc.want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
				t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
			}
			if a := readFS(got.FS, "a.yaml"); a != tc.wantA {
				t.Errorf("a.yaml = %q, want %q", a, tc.wantA)
			}
		})
	}
}

func TestLoadSourceErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file.yaml")
	writeFile(t, file, "x")

	cases := map[string]struct {
		reason   string
		source   string
		ref      string
		wantCode string
		wantMsg  string
	}{
		"empty": {
			reason: "no source is a usage error", source: " ",
			wantCode: meridian.EINVALID, wantMsg: "empty source",
		},
		"missing directory": {
			reason: "a typo in a path is not found", source: filepath.Join(tmp, "nope"),
			wantCode: meridian.ENOTFOUND, wantMsg: "no such directory",
		},
		"file": {
			reason: "the config root must be a directory", source: file,
			wantCode: meridian.EINVALID, wantMsg: "not a directory",
		},
		"unsupported scheme": {
			reason: "only Git transports are accepted", source: "ftp://example.com/repo",
			wantCode: meridian.EINVALID, wantMsg: `unsupported URL scheme "ftp"`,
		},
		"ref outside git": {
			reason: "a ref needs a repository to resolve in", source: tmp, ref: "main",
			wantCode: meridian.EINVALID, wantMsg: "not in a Git repository",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(t.Context(), tc.source, tc.ref, testOptions(t, nil))
			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.HasPrefix(err.Error(), "load config repo") {
				t.Errorf("%s\nerror %q should start with \"load config repo\" and contain %q", tc.reason, err, tc.wantMsg)
			}
		})
	}
}

func TestLoadDirectoryHidesGit(t *testing.T) {
	r := newRepo(t)
	r.write("meridian.yaml", "x\n", "sub/a.yaml", "a\n")
	// A nested checkout's .git file (submodule or linked worktree) too.
	r.write("sub/.git", "gitdir: elsewhere\n")
	r.commit("one")

	got := mustLoad(t, r.dir, "", testOptions(t, nil))

	if err := fstest.TestFS(got.FS, "meridian.yaml", "sub/a.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".git", ".git/HEAD", "sub/.git"} {
		if _, err := fs.Stat(got.FS, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%s) error = %v, want not-exist: the FS must match the committed tree", name, err)
		}
	}
	es, err := fs.ReadDir(got.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"meridian.yaml", "sub"}, names); diff != "" {
		t.Errorf("ReadDir(.) (-want +got):\n%s", diff)
	}
}

func TestLoadDirectoryThroughSymlink(t *testing.T) {
	r := newRepo(t)
	r.write("config/a.yaml", "a\n")
	c := r.commit("one")
	r.write("config/new.yaml", "n\n")
	link := filepath.Join(t.TempDir(), "cfg")
	if err := os.Symlink(r.path("config"), link); err != nil {
		t.Fatal(err)
	}

	got := mustLoad(t, link, "", testOptions(t, nil))

	want := &Snapshot{Source: link, Ref: "main", Commit: c, Dirty: true}
	if diff := cmp.Diff(want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
		t.Errorf("a config folder reached through a symlink is still in its repository (-want +got):\n%s", diff)
	}
}

func TestLoadDirectorySubmodules(t *testing.T) {
	cases := map[string]struct {
		reason    string
		change    func(r, sub *testRepo)
		wantDirty bool
	}{
		"clean": {
			reason: "a submodule at its recorded commit is no change",
			change: func(r, sub *testRepo) {},
		},
		"checkout moved": {
			reason: "a submodule at another commit than recorded changes the config",
			change: func(r, sub *testRepo) {
				sub.write("lib.yaml", "lib: 2\n")
				sub.commit("lib two")
			},
			wantDirty: true,
		},
		"untracked inside": {
			reason:    "Git reports a submodule with untracked content as modified",
			change:    func(r, sub *testRepo) { sub.write("new.yaml", "x\n") },
			wantDirty: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lib := newRepo(t)
			lib.write("lib.yaml", "lib: 1\n")
			lib.commit("lib one")
			r := newRepo(t)
			r.write("config/a.yaml", "a\n")
			r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.dir, "config/lib")
			r.commit("add submodule")
			tc.change(r, &testRepo{t: t, dir: r.path("config/lib")})

			got := mustLoad(t, r.path("config"), "", testOptions(t, nil))

			if got.Dirty != tc.wantDirty {
				t.Errorf("%s\nDirty = %v, want %v", tc.reason, got.Dirty, tc.wantDirty)
			}
			if gitDirty := r.git("status", "--porcelain", "--", "config") != ""; gitDirty != tc.wantDirty {
				t.Errorf("test case disagrees with git status: git says dirty=%v", gitDirty)
			}
		})
	}
}
