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
		t.Skipf("mkfifo: %v", err)
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
