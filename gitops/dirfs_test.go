package gitops

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// TestDirFSStaysInTree is finding #11: validate --repo DIR followed a
// symlink out of the tree and printed /etc/passwd in an error, and a CSV
// linked to /dev/zero ran the planner out of memory.
func TestDirFSStaysInTree(t *testing.T) {
	const secret = "root:x:0:0:SECRET-CONTENT"
	outside := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, outside, secret+"\n")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "meridian.yaml"), "ok: 1\n")
	writeFile(t, filepath.Join(dir, "metrics", "real.csv"), "timestamp,value\n")
	links := map[string]string{
		"workloads/abs.yaml":   outside,
		"workloads/rel.yaml":   filepath.Join("..", "..", filepath.Base(filepath.Dir(outside)), "passwd"),
		"metrics/zero.csv":     "/dev/zero",
		"metrics/inside.csv":   "real.csv",
		"metrics/up.csv":       "../metrics/real.csv",
		"workloads/dangling":   "nope.yaml",
		"workloads/dir-escape": filepath.Dir(outside),
	}
	for name, target := range links {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			if runtime.GOOS != "windows" {
				t.Fatal(err)
			}
			t.Skipf("symlinks need a privilege on Windows: %v", err)
		}
	}
	snap := mustLoad(t, dir, "", testOptions(t, nil))

	cases := map[string]struct {
		reason string
		name   string
		ok     bool
		code   string
	}{
		"absolute link out":  {reason: "a link to a host file is refused", name: "workloads/abs.yaml", code: meridian.EINVALID},
		"relative link out":  {reason: "../.. out of the root is refused", name: "workloads/rel.yaml", code: meridian.EINVALID},
		"device":             {reason: "/dev/zero is outside and a device; it is never opened", name: "metrics/zero.csv", code: meridian.EINVALID},
		"directory link out": {reason: "a link to a host directory is refused", name: "workloads/dir-escape/passwd", code: meridian.EINVALID},
		"link inside":        {reason: "links within the tree keep working, as in Git mode", name: "metrics/inside.csv", ok: true},
		"link up and back":   {reason: "a link that leaves a folder but not the root is fine", name: "metrics/up.csv", ok: true},
		"dangling":           {reason: "a dangling link is not found", name: "workloads/dangling", code: meridian.EINTERNAL},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for op, call := range map[string]func() error{
				"Open": func() error {
					f, err := snap.FS.Open(tc.name)
					if err == nil {
						f.Close()
					}
					return err
				},
				"ReadFile": func() error { _, err := fs.ReadFile(snap.FS, tc.name); return err },
				"Stat":     func() error { _, err := fs.Stat(snap.FS, tc.name); return err },
			} {
				err := call()
				if tc.ok {
					if err != nil {
						t.Errorf("%s\n%s(%s): %v", tc.reason, op, tc.name, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s\n%s(%s) succeeded", tc.reason, op, tc.name)
				}
				if code := meridian.ErrorCode(err); code != tc.code {
					t.Errorf("%s\n%s(%s) code = %q, want %q (err: %v)", tc.reason, op, tc.name, code, tc.code, err)
				}
				if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), outside) {
					t.Errorf("%s(%s) error reveals the target: %v", op, tc.name, err)
				}
				if tc.name == "workloads/dangling" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s(%s) = %v, want not-exist", op, tc.name, err)
				}
			}
		})
	}
}
