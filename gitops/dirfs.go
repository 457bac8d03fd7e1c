package gitops

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/meridianhq/meridian"
)

// errNotRegular is a path that is neither a regular file nor a directory:
// a device, FIFO or socket, which could block or never end when read.
var errNotRegular = &meridian.Error{Code: meridian.EINVALID, Message: "not a regular file"}

// dirFS is a config directory read through an os.Root, without Git's own
// files:
//
//   - Symbolic links are followed only while they stay inside the root; one
//     that leads out (to /etc/passwd, to /dev/zero) fails with
//     errSymlinkEscape before anything is opened, so no message can show
//     the target's content. The kernel enforces this (openat2 with
//     RESOLVE_BENEATH or its equivalent), so a link swapped in during a
//     read cannot get past it either.
//   - Opening anything but a regular file or a directory fails with
//     errNotRegular: a FIFO would block, a device never end.
//   - Any path component named ".git" (a repository, or a submodule's or
//     linked worktree's .git file) does not exist. A config root at the top
//     of a worktree then lists the same entries as the committed tree,
//     which never holds ".git", and a parser walking it does not descend
//     into the object store.
//
// The os.Root's descriptor is closed when the dirFS is garbage collected.
type dirFS struct {
	root *os.Root
	fsys fs.FS
}

// newDirFS opens dir as a dirFS.
func newDirFS(dir string) (fs.FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return dirFS{r, r.FS()}, nil
}

// OpenDir returns the directory name as a dirFS of its own: a root in
// which links may not lead out of name, even to elsewhere in d. It is for
// reading many files a directory listing showed as regular files (a
// config repo's 10,000 workloads): each open then resolves one name
// instead of walking the whole path, which through an os.Root costs a few
// system calls per component.
func (d dirFS) OpenDir(name string) (fs.FS, error) {
	if hidden(name) {
		return nil, notExist("opendir", name)
	}
	r, err := d.root.OpenRoot(name)
	if err != nil {
		return nil, rootError(err)
	}
	return dirFS{r, r.FS()}, nil
}

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

// rootError gives os.Root's refusal to leave the root its typed error. os
// exports no sentinel for it ("path escapes from parent"); it is the one
// error an os.Root returns that is neither a system call's errno nor one of
// the fs sentinels, and it carries no path beyond the name asked for.
func rootError(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return err
	}
	var errno syscall.Errno
	switch {
	case errors.As(pe.Err, &errno):
		if errno == syscall.ELOOP {
			return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: errSymlinkLoop}
		}
		return err
	case errors.Is(pe.Err, fs.ErrInvalid), errors.Is(pe.Err, fs.ErrNotExist),
		errors.Is(pe.Err, fs.ErrPermission), errors.Is(pe.Err, fs.ErrClosed):
		return err
	}
	return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: errSymlinkEscape}
}

// Open implements fs.FS. It checks the type before opening, so that a FIFO
// is never opened (which would block), and again on the open file, in case
// the entry changed in between.
func (d dirFS) Open(name string) (fs.File, error) {
	if hidden(name) {
		return nil, notExist("open", name)
	}
	if err := d.checkType("open", name); err != nil {
		return nil, err
	}
	f, err := d.fsys.Open(name)
	if err != nil {
		return nil, rootError(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	if rd, ok := f.(fs.ReadDirFile); ok && fi.IsDir() {
		return dirFile{rd}, nil
	}
	return f, nil
}

// checkType fails unless name (followed) is a regular file or a directory.
func (d dirFS) checkType(op, name string) error {
	fi, err := fs.Stat(d.fsys, name)
	if err != nil {
		return rootError(err)
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return &fs.PathError{Op: op, Path: name, Err: errNotRegular}
	}
	return nil
}

// ReadFile implements fs.ReadFileFS.
func (d dirFS) ReadFile(name string) ([]byte, error) {
	if hidden(name) {
		return nil, notExist("read", name)
	}
	// Through Open, for its checks; fs.ReadFile sizes the buffer from Stat.
	return fs.ReadFile(fsOnly{d}, name)
}

// fsOnly hides every method but Open, so that fs helpers go through it.
type fsOnly struct{ fs.FS }

// ReadDir implements fs.ReadDirFS.
func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if hidden(name) {
		return nil, notExist("readdir", name)
	}
	es, err := fs.ReadDir(d.fsys, name)
	return withoutGit(es), rootError(err)
}

// Stat implements fs.StatFS.
func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	if hidden(name) {
		return nil, notExist("stat", name)
	}
	fi, err := fs.Stat(d.fsys, name)
	return fi, rootError(err)
}

// Lstat implements fs.ReadLinkFS.
func (d dirFS) Lstat(name string) (fs.FileInfo, error) {
	if hidden(name) {
		return nil, notExist("lstat", name)
	}
	fi, err := fs.Lstat(d.fsys, name)
	return fi, rootError(err)
}

// ReadLink implements fs.ReadLinkFS.
func (d dirFS) ReadLink(name string) (string, error) {
	if hidden(name) {
		return "", notExist("readlink", name)
	}
	s, err := fs.ReadLink(d.fsys, name)
	return s, rootError(err)
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
