package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readDir reads every file below dir by slash path.
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

// TestRenderExampleGolden renders the example repos' deploy trees and
// keeps them as golden folders. gitops/deploy's schema test validates every
// file of those folders against the Argo CD, Crossplane, provider and
// Calico CRDs.
func TestRenderExampleGolden(t *testing.T) {
	for _, name := range []string{"hybrid", "edge-50"} {
		t.Run(name, func(t *testing.T) { renderExampleGolden(t, name) })
	}
}

func renderExampleGolden(t *testing.T, name string) {
	dir := copyExampleNamed(t, name)
	state := filepath.Join(t.TempDir(), "state")
	out := filepath.Join(t.TempDir(), "out")
	r := runCLI(t, "render", "--repo", dir, "--out", out, "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("render exited %d:\n%s", r.code, r.stderr)
	}
	got := readDir(t, out)
	// The local deploy repo's URL holds the temp state dir.
	for p, s := range got {
		got[p] = strings.ReplaceAll(s, "file://"+filepath.ToSlash(state), "file://<state-dir>")
	}
	golden := filepath.Join("testdata", "render", name)
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		for p, s := range got {
			f := filepath.Join(golden, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := readDir(t, golden)
	if len(want) == 0 {
		t.Fatalf("%s is empty (run go test -update to create it)", golden)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rendered example differs from %s (-want +got):\n%s", golden, diff)
	}

	// The same plan again gives the same bytes, on stdout as a stream too.
	r2 := runCLI(t, "render", "--repo", dir, "--state-dir", state)
	if r2.code != 0 {
		t.Fatalf("render to stdout exited %d:\n%s", r2.code, r2.stderr)
	}
	docs := strings.Split(r2.stdout, "---\n# Source: ")
	if len(docs)-1 != len(got) {
		t.Fatalf("stdout holds %d manifests, the folder %d", len(docs)-1, len(got))
	}
	for _, d := range docs[1:] {
		path, body, _ := strings.Cut(d, "\n")
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(path)))
		if err != nil || !bytes.Equal(b, []byte(body)) {
			t.Errorf("%s differs between --out and stdout (%v)", path, err)
		}
	}
}

func TestRenderRefusesForeignFolder(t *testing.T) {
	dir := copyExample(t)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "render", "--repo", dir, "--out", out, "--plan-only", "--state-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "notes.txt") {
		t.Errorf("render into a folder with foreign files: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(b) != "mine" {
		t.Error("render clobbered a foreign file")
	}
}
