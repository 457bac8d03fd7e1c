package terraform

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestFilesWrite checks that syncing a module into a workspace removes
// files the module no longer has but never touches state or Terraform's
// own folder: losing terraform.tfstate there would lose the target.
func TestFilesWrite(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"old.tf": "x", "sub/old.tf": "x", "terraform.tfstate": "{}", "terraform.tfstate.backup": "{}",
		".terraform/providers/x": "bin", ".terraform.lock.hcl": "lock", "terraform.tfstate.d/ws/terraform.tfstate": "{}",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := fstest.MapFS{
		"mod/main.tf":              {Data: []byte("resource")},
		"mod/modules/x/x.tf":       {Data: []byte("x")},
		"mod/terraform.tfstate":    {Data: []byte("not copied")},
		"mod/.terraform/plugins/p": {Data: []byte("not copied")},
		"other/ignored.tf":         {Data: []byte("outside the module")},
	}
	files, err := ReadModule(src, "mod")
	if err != nil {
		t.Fatal(err)
	}
	files[VarsFile] = []byte("{}")
	if err := files.Write(dir); err != nil {
		t.Fatal(err)
	}
	want := []string{
		".terraform.lock.hcl", ".terraform/providers/x", "main.tf", VarsFile, "modules/x/x.tf",
		"terraform.tfstate", "terraform.tfstate.backup", "terraform.tfstate.d/ws/terraform.tfstate",
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, listFiles(t, dir)); diff != "" {
		t.Errorf("workspace after sync (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); string(b) != "{}" {
		t.Errorf("state was overwritten: %q", b)
	}
	a, b := files.Digest(), Files{"main.tf": []byte("resource")}.Digest()
	if a == b {
		t.Error("different files must have different digests")
	}
}
