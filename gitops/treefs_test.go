package gitops

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// treeFixture commits a tree with every kind of entry and returns it loaded
// through a mirror, so FS is a treeFS.
func treeFixture(tb testing.TB, extra func(r *testRepo)) *Snapshot {
	tb.Helper()
	r := newRepo(tb)
	bare := r.newBareRemote()
	r.write(
		"meridian.yaml", "currency: USD\n",
		"workloads/api.yaml", "name: api\n",
		"workloads/deep/db.yaml", "name: db\n",
		"policies/tags.rego", "package tags\n",
		"bin/check.sh", "#!/bin/sh\n",
	)
	if err := os.Chmod(r.path("bin/check.sh"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for link, target := range map[string]string{
		"current.yaml":       "meridian.yaml",
		"wl":                 "workloads",
		"workloads/up.yaml":  "../meridian.yaml",
		"workloads/via.yaml": "../wl/api.yaml",
	} {
		if err := os.Symlink(target, r.path(link)); err != nil {
			tb.Fatal(err)
		}
	}
	if extra != nil {
		extra(r)
	}
	r.git("add", "-A")
	// A submodule as a bare gitlink: the commit need not exist here.
	r.git("update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",vendor/lib")
	r.git("commit", "-q", "-m", "tree") // not commit(): add -A would drop the gitlink
	r.push()
	return mustLoad(tb, bare, "", testOptions(tb, nil))
}

func TestTreeFSConformance(t *testing.T) {
	snap := treeFixture(t, nil)
	err := fstest.TestFS(snap.FS,
		"meridian.yaml", "workloads/api.yaml", "workloads/deep/db.yaml", "policies/tags.rego",
		"bin/check.sh", "current.yaml", "workloads/up.yaml", "workloads/via.yaml", "vendor/lib")
	if err != nil {
		t.Fatal(err)
	}
}

func TestTreeFSEntries(t *testing.T) {
	snap := treeFixture(t, nil)
	cases := map[string]struct {
		reason   string
		name     string
		wantData string
		wantMode fs.FileMode
	}{
		"file":            {reason: "plain files read back", name: "workloads/deep/db.yaml", wantData: "name: db\n", wantMode: 0o644},
		"executable":      {reason: "the executable bit is kept", name: "bin/check.sh", wantData: "#!/bin/sh\n", wantMode: 0o755},
		"symlink to file": {reason: "links are followed", name: "current.yaml", wantData: "currency: USD\n", wantMode: 0o644},
		"through dir link": {
			reason: "a link in the middle of a path is followed",
			name:   "wl/deep/db.yaml", wantData: "name: db\n", wantMode: 0o644,
		},
		"relative up link": {
			reason: "links resolve relative to their own folder",
			name:   "workloads/up.yaml", wantData: "currency: USD\n", wantMode: 0o644,
		},
		"link chain": {
			reason: "a link to a path through another link resolves",
			name:   "workloads/via.yaml", wantData: "name: api\n", wantMode: 0o644,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := readFS(snap.FS, tc.name); got != tc.wantData {
				t.Errorf("%s\nReadFile(%s) = %q, want %q", tc.reason, tc.name, got, tc.wantData)
			}
			fi, err := fs.Stat(snap.FS, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.wantMode || fi.Size() != int64(len(tc.wantData)) {
				t.Errorf("Stat(%s) = mode %v size %d, want %v %d", tc.name, fi.Mode(), fi.Size(), tc.wantMode, len(tc.wantData))
			}
		})
	}

	t.Run("submodule is an empty directory", func(t *testing.T) {
		es, err := fs.ReadDir(snap.FS, "vendor/lib")
		if err != nil || len(es) != 0 {
			t.Errorf("ReadDir(vendor/lib) = %v, %v; want empty", es, err)
		}
	})
	t.Run("root listing is sorted", func(t *testing.T) {
		es, err := fs.ReadDir(snap.FS, ".")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Name())
		}
		want := []string{"bin", "current.yaml", "meridian.yaml", "policies", "vendor", "wl", "workloads"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ReadDir(.) (-want +got):\n%s", diff)
		}
	})
	t.Run("lstat and readlink see the link", func(t *testing.T) {
		fi, err := fs.Lstat(snap.FS, "wl")
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("Lstat(wl) = %v, %v; want a symlink", fi, err)
		}
		if target, err := fs.ReadLink(snap.FS, "wl"); err != nil || target != "workloads" {
			t.Errorf("ReadLink(wl) = %q, %v", target, err)
		}
	})
}

func TestTreeFSBadLinks(t *testing.T) {
	snap := treeFixture(t, func(r *testRepo) {
		for link, target := range map[string]string{
			"escape":   "../../../etc/passwd",
			"absolute": "/etc/passwd",
			"dangling": "nope.yaml",
			"loop1":    "loop2",
			"loop2":    "loop1",
		} {
			if err := os.Symlink(target, r.path(link)); err != nil {
				r.t.Fatal(err)
			}
		}
	})
	cases := map[string]struct {
		reason  string
		name    string
		wantErr error
	}{
		"escaping":         {reason: "a tree must never read the host's files", name: "escape", wantErr: errSymlinkEscape},
		"absolute":         {reason: "absolute targets point outside the tree", name: "absolute", wantErr: errSymlinkEscape},
		"dangling":         {reason: "a link to nothing does not exist", name: "dangling", wantErr: fs.ErrNotExist},
		"loop":             {reason: "a cycle must end", name: "loop1", wantErr: errSymlinkLoop},
		"missing":          {reason: "plain missing files", name: "workloads/none.yaml", wantErr: fs.ErrNotExist},
		"file as dir":      {reason: "a file has no children", name: "meridian.yaml/x", wantErr: fs.ErrNotExist},
		"invalid path":     {reason: "fs.FS paths are unrooted and clean", name: "/meridian.yaml", wantErr: fs.ErrInvalid},
		"dotdot path":      {reason: "fs.FS paths cannot climb", name: "../x", wantErr: fs.ErrInvalid},
		"inside submodule": {reason: "submodule content is not in this repository", name: "vendor/lib/x", wantErr: fs.ErrNotExist},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := snap.FS.Open(tc.name)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s\nOpen(%s) error = %v, want %v", tc.reason, tc.name, err, tc.wantErr)
			}
		})
	}
}

func TestTreeFSConcurrentReads(t *testing.T) {
	snap := treeFixture(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fs.WalkDir(snap.FS, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				_, err = fs.ReadFile(snap.FS, p)
				return err
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
