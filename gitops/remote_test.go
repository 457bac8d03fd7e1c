package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

// remoteFixture is a bare repository with history:
//
//	c1 (tags v1, annotated v1.1) -- c2 (main, HEAD)
//	                             \- c3 (feature)
type remoteFixture struct {
	work       *testRepo
	bare       string
	c1, c2, c3 string
}

func newRemoteFixture(tb testing.TB) *remoteFixture {
	tb.Helper()
	r := newRepo(tb)
	f := &remoteFixture{work: r, bare: r.newBareRemote()}
	r.write("meridian.yaml", "rev: 1\n", "workloads/api.yaml", "name: api\n")
	f.c1 = r.commit("one")
	r.git("tag", "v1")
	r.git("tag", "-a", "-m", "release", "v1.1")
	r.write("meridian.yaml", "rev: 2\n")
	f.c2 = r.commit("two")
	r.git("checkout", "-q", "-b", "feature", f.c1)
	r.write("meridian.yaml", "rev: feature\n")
	f.c3 = r.commit("three")
	r.git("checkout", "-q", "main")
	r.push()
	return f
}

func TestLoadRemoteRefs(t *testing.T) {
	f := newRemoteFixture(t)
	fileURL := "file://" + filepath.ToSlash(f.bare)

	cases := map[string]struct {
		reason   string
		source   string
		ref      string
		want     *Snapshot
		wantRev  string
		wantCode string
	}{
		"default branch": {
			reason: "no ref means the remote's HEAD, reported by branch name",
			source: fileURL,
			want:   &Snapshot{Source: fileURL, Ref: "main", Commit: f.c2}, wantRev: "rev: 2\n",
		},
		"plain path to bare repo": {
			reason: "a bare repository on disk is a Git source, mirrored like a URL",
			source: f.bare,
			want:   &Snapshot{Source: fileURL, Ref: "main", Commit: f.c2}, wantRev: "rev: 2\n",
		},
		"HEAD": {
			reason: "HEAD is the default branch too",
			source: fileURL, ref: "HEAD",
			want: &Snapshot{Source: fileURL, Ref: "main", Commit: f.c2}, wantRev: "rev: 2\n",
		},
		"branch": {
			reason: "any branch can be planned",
			source: fileURL, ref: "feature",
			want: &Snapshot{Source: fileURL, Ref: "feature", Commit: f.c3}, wantRev: "rev: feature\n",
		},
		"full branch ref": {
			reason: "full ref names work and are reported as asked, so that reloading Ref gets the same ref",
			source: fileURL, ref: "refs/heads/feature",
			want: &Snapshot{Source: fileURL, Ref: "refs/heads/feature", Commit: f.c3}, wantRev: "rev: feature\n",
		},
		"lightweight tag": {
			reason: "releases are planned by tag",
			source: f.bare, ref: "v1",
			want: &Snapshot{Source: fileURL, Ref: "v1", Commit: f.c1}, wantRev: "rev: 1\n",
		},
		"annotated tag": {
			reason: "an annotated tag resolves to the commit it tags, not the tag object",
			source: fileURL, ref: "v1.1",
			want: &Snapshot{Source: fileURL, Ref: "v1.1", Commit: f.c1}, wantRev: "rev: 1\n",
		},
		"full sha": {
			reason: "a full SHA pins an exact commit",
			source: fileURL, ref: f.c3,
			want: &Snapshot{Source: fileURL, Ref: f.c3, Commit: f.c3}, wantRev: "rev: feature\n",
		},
		"short sha": {
			reason: "an abbreviated SHA is expanded to the full one",
			source: f.bare, ref: f.c1[:7],
			want: &Snapshot{Source: fileURL, Ref: f.c1, Commit: f.c1}, wantRev: "rev: 1\n",
		},
		"upper-case short sha": {
			reason: "SHAs are case-insensitive hex",
			source: fileURL, ref: strings.ToUpper(f.c2[:10]),
			want: &Snapshot{Source: fileURL, Ref: f.c2, Commit: f.c2}, wantRev: "rev: 2\n",
		},
		"unknown ref": {
			reason: "a typo must be a clear not-found error",
			source: fileURL, ref: "nope", wantCode: meridian.ENOTFOUND,
		},
		"unknown full sha": {
			reason: "a SHA the remote does not have is not found",
			source: fileURL, ref: strings.Repeat("ab", 20), wantCode: meridian.ENOTFOUND,
		},
		"unknown short sha": {
			reason: "an abbreviation matching nothing is not found",
			source: fileURL, ref: "0000000", wantCode: meridian.ENOTFOUND,
		},
		"missing repository": {
			reason: "a wrong path is not found",
			source: "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "nope.git")), wantCode: meridian.ENOTFOUND,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(t.Context(), tc.source, tc.ref, testOptions(t, nil))
			if code := errorCode(err); code != tc.wantCode {
				t.Fatalf("%s\nerror code = %q, want %q (err: %v)", tc.reason, code, tc.wantCode, err)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "load config repo ") {
					t.Errorf("error %q lacks the load config repo prefix", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got, cmp.FilterPath(isFSField, cmp.Ignore())); diff != "" {
				t.Errorf("%s\nsnapshot (-want +got):\n%s", tc.reason, diff)
			}
			if rev := readFS(got.FS, "meridian.yaml"); rev != tc.wantRev {
				t.Errorf("meridian.yaml = %q, want %q", rev, tc.wantRev)
			}
			if api := readFS(got.FS, "workloads/api.yaml"); api != "name: api\n" {
				t.Errorf("workloads/api.yaml = %q", api)
			}
		})
	}
}

func TestLoadRemoteUnknownRefMessage(t *testing.T) {
	f := newRemoteFixture(t)
	_, err := Load(t.Context(), f.bare, "nope", testOptions(t, nil))
	want := fmt.Sprintf(`load config repo "file://%s": ref "nope" not found`, filepath.ToSlash(f.bare))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want it to start with %s", err, want)
	}
}

func TestLoadRemoteFetchesIncrementally(t *testing.T) {
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)

	first := mustLoad(t, f.bare, "main", opts)
	ms := mirrors(t, opts.CacheDir)
	if len(ms) != 1 {
		t.Fatalf("cache has %d mirrors after one load, want 1: %v", len(ms), ms)
	}
	mirror := ms[0]
	packsBefore := packs(t, mirror)

	// Unchanged remote: the load lists refs and downloads nothing.
	again := mustLoad(t, f.bare, "main", opts)
	if again.Commit != first.Commit {
		t.Errorf("unchanged remote: commit %s, want %s", again.Commit, first.Commit)
	}
	if p := packs(t, mirror); len(p) != len(packsBefore) {
		t.Errorf("unchanged remote fetched a pack: %d packs, had %d", len(p), len(packsBefore))
	}

	f.work.write("meridian.yaml", "rev: 4\n")
	c4 := f.work.commit("four")
	f.work.push()

	second := mustLoad(t, f.bare, "main", opts)
	if second.Commit != c4 {
		t.Errorf("after a push: commit %s, want the new %s", second.Commit, c4)
	}
	if rev := readFS(second.FS, "meridian.yaml"); rev != "rev: 4\n" {
		t.Errorf("after a push: meridian.yaml = %q", rev)
	}
	if ms := mirrors(t, opts.CacheDir); len(ms) != 1 || ms[0] != mirror {
		t.Errorf("the second load did not reuse the mirror: %v", ms)
	}
	// The new pack holds only what the push added: the negotiation sent
	// the mirror's commits as haves.
	var newPacks []string
	for _, p := range packs(t, mirror) {
		if !contains(packsBefore, p) {
			newPacks = append(newPacks, p)
		}
	}
	if len(newPacks) != 1 {
		t.Fatalf("want exactly one new pack, got %v", newPacks)
	}
	idx := strings.TrimSuffix(newPacks[0], ".pack") + ".idx"
	objs := showIndex(t, idx)
	if !strings.Contains(objs, c4) || strings.Contains(objs, f.c2) || strings.Contains(objs, f.c1) {
		t.Errorf("incremental pack should hold %s and not the already-fetched %s, %s:\n%s", c4, f.c1, f.c2, objs)
	}
	// The first snapshot still reads its own commit after the fetch.
	if rev := readFS(first.FS, "meridian.yaml"); rev != "rev: 2\n" {
		t.Errorf("older snapshot after a fetch: meridian.yaml = %q", rev)
	}
}

// showIndex lists the object IDs in a pack index, using git.
func showIndex(tb testing.TB, idx string) string {
	tb.Helper()
	b, err := os.ReadFile(idx)
	if err != nil {
		tb.Fatal(err)
	}
	return runGitStdin(tb, filepath.Dir(idx), b, "show-index")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestLoadRemoteForcePushAndDeletedBranch(t *testing.T) {
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)
	mustLoad(t, f.bare, "feature", opts)

	// Rewrite feature and delete the v1 tag on the remote.
	f.work.git("checkout", "-q", "feature")
	f.work.git("reset", "-q", "--hard", f.c2)
	f.work.write("meridian.yaml", "rev: rewritten\n")
	c5 := f.work.commit("rewritten")
	f.work.git("checkout", "-q", "main")
	f.work.push()
	runGit(t, f.bare, "tag", "-d", "v1")

	got := mustLoad(t, f.bare, "feature", opts)
	if got.Commit != c5 {
		t.Errorf("after a force push: commit %s, want %s", got.Commit, c5)
	}
	_, err := Load(t.Context(), f.bare, "v1", opts)
	if !isCode(err, meridian.ENOTFOUND) {
		t.Errorf("a tag deleted on the remote must not resolve from the cache; err = %v", err)
	}
}

func TestLoadRemoteFullSHAFromCacheOffline(t *testing.T) {
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)
	mustLoad(t, f.bare, "main", opts)

	// The remote disappears: a commit already cached still loads, because
	// its content cannot change, while a branch needs the remote.
	if err := os.Rename(f.bare, f.bare+".gone"); err != nil {
		t.Fatal(err)
	}
	fileURL := "file://" + filepath.ToSlash(f.bare)
	got := mustLoad(t, fileURL, f.c1, opts)
	if got.Commit != f.c1 || readFS(got.FS, "meridian.yaml") != "rev: 1\n" {
		t.Errorf("cached SHA: commit %s, meridian.yaml %q", got.Commit, readFS(got.FS, "meridian.yaml"))
	}
	if _, err := Load(t.Context(), fileURL, "main", opts); err == nil {
		t.Error("a branch must not silently resolve from a stale cache when the remote is unreachable")
	}
}

func TestLoadRemoteConcurrent(t *testing.T) {
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)
	refs := []string{"main", "feature", "v1", f.c1[:8], "main", "feature", "v1.1", f.c2}
	want := []string{f.c2, f.c3, f.c1, f.c1, f.c2, f.c3, f.c1, f.c2}

	// All start on an empty cache, so they also race to create the mirror.
	var wg sync.WaitGroup
	got := make([]string, len(refs))
	errs := make([]error, len(refs))
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Load(context.Background(), f.bare, ref, opts)
			if err != nil {
				errs[i] = err
				return
			}
			// Read while others fetch into the same mirror.
			got[i] = s.Commit + " " + readFS(s.FS, "workloads/api.yaml")
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil {
			t.Errorf("load %s: %v", refs[i], errs[i])
			continue
		}
		if w := want[i] + " name: api\n"; got[i] != w {
			t.Errorf("load %s = %q, want %q", refs[i], got[i], w)
		}
	}
	ms := mirrors(t, opts.CacheDir)
	if len(ms) != 1 {
		t.Fatalf("concurrent loads made %d mirrors, want 1: %v", len(ms), ms)
	}
	runGit(t, ms[0], "fsck", "--no-progress", "--no-dangling")
}

func TestLoadRemoteEmptyRepository(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "empty.git")
	runGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	_, err := Load(t.Context(), bare, "", testOptions(t, nil))
	if !isCode(err, meridian.ENOTFOUND) {
		t.Errorf("empty repository: err = %v, want a not-found error", err)
	}
}

func TestLoadRemoteRecreatesBrokenMirror(t *testing.T) {
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)
	mustLoad(t, f.bare, "main", opts)
	mirror := mirrors(t, opts.CacheDir)[0]
	// A crash or a disk problem leaves a mirror go-git cannot open.
	if err := os.Remove(filepath.Join(mirror, "config")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mirror, "config"), []byte("[core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, f.bare, "main", opts)
	if got.Commit != f.c2 {
		t.Errorf("commit %s, want %s", got.Commit, f.c2)
	}
}

func TestCacheDirDefault(t *testing.T) {
	// Not parallel: it changes the environment.
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	f := newRemoteFixture(t)
	opts := testOptions(t, nil)
	opts.CacheDir = ""
	mustLoad(t, f.bare, "", opts)
	if ms := mirrors(t, filepath.Join(xdg, "meridian", "repos")); len(ms) != 1 {
		t.Errorf("want one mirror under $XDG_CACHE_HOME/meridian/repos, got %v", ms)
	}
}
