package gitops

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/gitops/config"
)

// workloadDoc is a minimal valid workload document.
func workloadDoc(name string) string {
	return "apiVersion: meridian/v1\nkind: Workload\nname: " + name +
		"\ntags: {owner: a, cost-center: \"1\", env: prod}\nreplicas: {min: 1, max: 2}\nper_replica: {vcpu: 1, memory_gib: 2}\n"
}

// TestConfigThroughOpenDir loads a config folder through a snapshot, where
// the loader opens each directory once (dirFS.OpenDir) and reads the
// regular files it lists by name. Links are still read by their full
// path, so one that leaves the workloads folder but not the repo keeps
// working, and one that leaves the repo is still refused.
func TestConfigThroughOpenDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	writeFile(t, outside, workloadDoc("secret"))
	writeFile(t, filepath.Join(dir, "workloads", "a.yaml"), workloadDoc("a"))
	writeFile(t, filepath.Join(dir, "workloads", "team", "b.yaml"), workloadDoc("b"))
	writeFile(t, filepath.Join(dir, "shared", "c.yaml"), workloadDoc("c"))
	for link, target := range map[string]string{"workloads/c.yaml": "../shared/c.yaml", "workloads/d.yaml": outside} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	snap := mustLoad(t, dir, "", testOptions(t, nil))
	if _, ok := snap.FS.(interface {
		OpenDir(string) (fs.FS, error)
	}); !ok {
		t.Fatal("a directory snapshot does not offer OpenDir; this test would not test it")
	}
	cfg, err := config.Load(snap.FS)
	if err == nil {
		t.Fatal("a link out of the repo loaded without a config error")
	}
	var names []string
	for _, w := range cfg.Workloads {
		names = append(names, w.Name+"@"+w.Origin.File)
	}
	if want := []string{"a@workloads/a.yaml", "c@workloads/c.yaml", "b@workloads/team/b.yaml"}; !slices.Equal(names, want) {
		t.Errorf("workloads %v, want %v", names, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "workloads/d.yaml") || strings.Contains(msg, "secret") {
		t.Errorf("error should name workloads/d.yaml and nothing of its target:\n%s", msg)
	}
}

// TestOpenDirIsItsOwnRoot: a directory opened on its own keeps every rule
// of the snapshot, and its root is the directory: a link up and out of it
// works in the snapshot, not in the directory.
func TestOpenDirIsItsOwnRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "workloads", "a.yaml"), "a")
	writeFile(t, filepath.Join(dir, "top.yaml"), "top")
	if err := os.Symlink("../top.yaml", filepath.Join(dir, "workloads", "up.yaml")); err != nil {
		t.Fatal(err)
	}
	fsys, err := newDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := fsys.(dirFS)
	sub, err := d.OpenDir("workloads")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFS(sub, "a.yaml"); got != "a" {
		t.Errorf("a.yaml in workloads: %q", got)
	}
	if got := readFS(d, "workloads/up.yaml"); got != "top" {
		t.Errorf("workloads/up.yaml in the snapshot: %q", got)
	}
	if got := readFS(sub, "up.yaml"); !strings.HasPrefix(got, "error: ") {
		t.Errorf("up.yaml read through workloads, which is its own root: %q", got)
	}
	if _, err := d.OpenDir(".git"); err == nil {
		t.Error(".git opened as a directory; snapshots never show it")
	}
	if _, err := d.OpenDir("nope"); err == nil {
		t.Error("a missing directory opened")
	}
}
