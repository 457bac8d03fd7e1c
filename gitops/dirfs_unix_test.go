//go:build unix

package gitops

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDirFSRefusesFIFO: opening a FIFO for reading blocks until a writer
// comes, so a FIFO in a config folder would hang the planner.
func TestDirFSRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "meridian.yaml"), "ok: 1\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "load.csv"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	snap := mustLoad(t, dir, "", testOptions(t, nil))

	done := make(chan error, 1)
	go func() {
		_, err := fs.ReadFile(snap.FS, "load.csv")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errNotRegular) {
			t.Errorf("ReadFile(fifo) = %v, want %v", err, errNotRegular)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile(fifo) blocked: the FIFO was opened")
	}
}

// TestLoadDirectoryFIFOGitignore: the dirty check reads .gitignore files
// from the worktree; a FIFO there must not hang Load.
func TestLoadDirectoryFIFOGitignore(t *testing.T) {
	r := newRepo(t)
	r.write("meridian.yaml", "x\n")
	r.commit("one")
	if err := syscall.Mkfifo(r.path("sub/.gitignore"), 0o644); err != nil {
		if err := syscall.Mkdir(r.path("sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(r.path("sub/.gitignore"), 0o644); err != nil {
			t.Fatalf("mkfifo: %v", err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load(t.Context(), r.dir, "", testOptions(t, nil))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked opening a FIFO .gitignore")
	}
}
