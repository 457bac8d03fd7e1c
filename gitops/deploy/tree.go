package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// Tree is a deploy tree: file contents by slash-separated path, relative to
// the deploy path (deploy.path) inside the repository.
type Tree map[string][]byte

// Paths returns the tree's paths in sorted order.
func (t Tree) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Workloads returns, per workload, the targets the tree places it on.
func (t Tree) Workloads() map[string][]string {
	seen := map[[2]string]bool{}
	out := map[string][]string{}
	for _, p := range t.Paths() {
		w, tg, ok := Owner(p)
		if !ok || seen[[2]string{w, tg}] {
			continue
		}
		seen[[2]string{w, tg}] = true
		out[w] = append(out[w], tg)
	}
	return out
}

// WriteDir writes the tree below dir, as `meridian render --out` does. It
// refuses a dir that holds files other than a previous render's, so that a
// typo cannot clobber an unrelated folder, and removes stale files of a
// previous render.
func (t Tree) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	var stale []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if _, ok := t[rel]; ok {
			return nil
		}
		_, site := SiteOwner(rel)
		if _, _, ok := Owner(rel); !ok && !site && rel != rootFile {
			return fmt.Errorf("%s holds %s, which Meridian did not render: give an empty or new folder", dir, rel)
		}
		stale = append(stale, p)
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	for _, p := range t.Paths() {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
		}
		if err := os.WriteFile(dst, t[p], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	return nil
}

// clean reports whether p is a relative, clean, slash-separated path.
func clean(p string) bool {
	return p != "" && !path.IsAbs(p) && path.Clean(p) == p && p != "." && p != ".." && !(len(p) > 3 && p[:3] == "../")
}
