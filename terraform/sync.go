package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// VarsFile is the file Meridian writes the placements into.
const VarsFile = "meridian.auto.tfvars.json"

// LockFileName is Terraform's dependency lock file.
const LockFileName = ".terraform.lock.hcl"

// isState reports whether a file name is Terraform state (or its backup or
// lock info) that Sync must never copy or delete.
func isState(name string) bool {
	return strings.Contains(name, ".tfstate") || name == "terraform.tfstate.d"
}

// skipDir reports folders that are Terraform's or Git's own, never part of
// a module snapshot.
func skipDir(name string) bool {
	return name == ".terraform" || name == ".git" || name == ".meridian"
}

// Files is a module snapshot: slash paths to contents.
type Files map[string][]byte

// ReadModule reads the module folder dir of fsys, without state files and
// .terraform or .git folders.
func ReadModule(fsys fs.FS, dir string) (Files, error) {
	out := Files{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if isState(d.Name()) || !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if dir == "." {
			rel = p
		}
		out[rel] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", dir, err)
	}
	return out, nil
}

// Digest hashes the files in path order.
func (f Files) Digest() string {
	h := sha256.New()
	for _, p := range f.paths() {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(f[p]))
		h.Write(f[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (f Files) paths() []string {
	ps := make([]string, 0, len(f))
	for p := range f {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Write makes dir hold exactly files, plus what Terraform keeps there:
// state files, the .terraform folder and, unless files has one, the
// dependency lock file. Anything else left over from an older module
// version is removed, so a deleted .tf file stops counting.
func (f Files) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range f.paths() {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := writeFileAtomic(dst, f[p], 0o600); err != nil {
			return err
		}
		for q := p; q != "." && q != ""; q = path.Dir(q) {
			keep[q] = true
		}
	}
	var stale []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		switch {
		case d.IsDir() && skipDir(name), isState(name):
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case rel == LockFileName && f[LockFileName] == nil:
			return nil
		case !keep[rel]:
			stale = append(stale, p)
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes via a temporary file and rename, so a crash never
// leaves a half-written file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := firstErr(werr, serr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// WriteFile writes one file atomically, for callers that snapshot state
// and plans.
func WriteFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}
