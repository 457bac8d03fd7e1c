package gitops

import (
	"io/fs"
	"os"
	"slices"
	"strings"
)

// dirFS is os.DirFS without Git's own files: any path component named
// ".git" (a repository, or a submodule's or linked worktree's .git file)
// does not exist. A config root at the top of a worktree then lists the
// same entries as the committed tree, which never holds ".git", and a
// parser walking it does not descend into the object store.
type dirFS struct{ fsys fs.FS }

func newDirFS(dir string) fs.FS { return dirFS{os.DirFS(dir)} }

// hidden reports whether name is or lies under a .git entry.
func hidden(name string) bool {
	return name == ".git" || strings.HasPrefix(name, ".git/") ||
		strings.HasSuffix(name, "/.git") || strings.Contains(name, "/.git/")
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func withoutGit(es []fs.DirEntry) []fs.DirEntry {
	return slices.DeleteFunc(es, func(e fs.DirEntry) bool { return e.Name() == ".git" })
}

// Open implements fs.FS.
func (d dirFS) Open(name string) (fs.File, error) {
	if hidden(name) {
		return nil, notExist("open", name)
	}
	f, err := d.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if rd, ok := f.(fs.ReadDirFile); ok {
		return dirFile{rd}, nil
	}
	return f, nil
}

// ReadFile implements fs.ReadFileFS.
func (d dirFS) ReadFile(name string) ([]byte, error) {
	if hidden(name) {
		return nil, notExist("read", name)
	}
	return fs.ReadFile(d.fsys, name)
}

// ReadDir implements fs.ReadDirFS.
func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if hidden(name) {
		return nil, notExist("readdir", name)
	}
	es, err := fs.ReadDir(d.fsys, name)
	return withoutGit(es), err
}

// Stat implements fs.StatFS.
func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	if hidden(name) {
		return nil, notExist("stat", name)
	}
	return fs.Stat(d.fsys, name)
}

// Lstat implements fs.ReadLinkFS.
func (d dirFS) Lstat(name string) (fs.FileInfo, error) {
	if hidden(name) {
		return nil, notExist("lstat", name)
	}
	return fs.Lstat(d.fsys, name)
}

// ReadLink implements fs.ReadLinkFS.
func (d dirFS) ReadLink(name string) (string, error) {
	if hidden(name) {
		return "", notExist("readlink", name)
	}
	return fs.ReadLink(d.fsys, name)
}

// dirFile filters .git out of an open directory's listing. Entries are
// dropped after reading, so a ReadDir(n) may return fewer than n entries
// before the end, which fs.ReadDirFile allows.
type dirFile struct{ fs.ReadDirFile }

func (f dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		es, err := f.ReadDirFile.ReadDir(n)
		kept := withoutGit(es)
		// Never answer (empty, nil) for n > 0: callers would spin.
		if len(kept) > 0 || err != nil || n <= 0 || len(es) == 0 {
			return kept, err
		}
	}
}
