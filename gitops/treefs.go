package gitops

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/meridianhq/meridian"
)

// maxSymlinkHops bounds symlink chains, as the kernel's ELOOP does.
const maxSymlinkHops = 40

// Symbolic links that cannot be followed are config problems (EINVALID),
// for the tree and the directory alike. The messages never say where a link
// points, let alone what is there.
var (
	errSymlinkLoop   = &meridian.Error{Code: meridian.EINVALID, Message: "too many levels of symbolic links"}
	errSymlinkEscape = &meridian.Error{Code: meridian.EINVALID, Message: "symbolic link points outside the config repo"}
	errIsDir         = errors.New("is a directory")
)

// treeFS is a Git tree read straight from an object store: no checkout.
// Symbolic links are followed within the tree; one that leads outside it
// fails rather than reach the host's files. Submodules read as empty
// directories, which is what a non-recursive clone shows. Every file and
// directory has the commit's time as its ModTime.
//
// It implements fs.ReadFileFS, fs.ReadDirFS, fs.StatFS and fs.ReadLinkFS,
// and is safe for concurrent use.
type treeFS struct {
	// mu serializes object reads: go-git's storage keeps unsynchronized
	// caches. It guards trees too.
	mu   *sync.Mutex
	s    storer.EncodedObjectStorer
	root plumbing.Hash
	mod  time.Time
	// trees holds the trees decoded so far, by hash. Every lookup walks
	// its path from the root, and a config repo's workloads folder may
	// hold 10,000 entries: decoded anew for every file read, it made
	// reading such a repo quadratic.
	trees map[plumbing.Hash]*decodedTree
}

// decodedTree is a tree's entries, indexed by name.
type decodedTree struct {
	entries []object.TreeEntry
	byName  map[string]int
}

// newTreeFS returns the tree with hash root as an fs.FS whose entries have
// ModTime mod (the commit's time).
func newTreeFS(s storer.EncodedObjectStorer, root plumbing.Hash, mod time.Time) fs.FS {
	return &treeFS{mu: new(sync.Mutex), s: s, root: root, mod: mod, trees: map[plumbing.Hash]*decodedTree{}}
}

// tree returns the tree with hash h, decoding it once. The caller holds
// f.mu.
func (f *treeFS) tree(h plumbing.Hash) (*decodedTree, error) {
	if t, ok := f.trees[h]; ok {
		return t, nil
	}
	t, err := object.GetTree(f.s, h)
	if err != nil {
		return nil, err
	}
	dt := &decodedTree{entries: t.Entries, byName: make(map[string]int, len(t.Entries))}
	for i, e := range t.Entries {
		if _, dup := dt.byName[e.Name]; !dup { // a malformed tree: the first wins, as in a scan
			dt.byName[e.Name] = i
		}
	}
	f.trees[h] = dt
	return dt, nil
}

// node is one resolved tree entry.
type node struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

// lookup resolves name to a tree entry, following symlinks in every
// component and, when follow is set, in the last one too. The caller holds
// f.mu.
func (f *treeFS) lookup(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root := node{name: ".", mode: filemode.Dir, hash: f.root}
	cur, dir := root, []string(nil)
	comps := splitName(name)
	for hops := 0; len(comps) > 0; {
		c := comps[0]
		comps = comps[1:]
		if !cur.isDir() {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		e, err := f.entry(cur, c)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if e.mode != filemode.Symlink || (len(comps) == 0 && !follow) {
			cur, dir = e, append(dir, c)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return node{}, &fs.PathError{Op: op, Path: name, Err: errSymlinkLoop}
		}
		target, err := f.blob(e.hash)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		t := path.Join(path.Join(dir...), string(target))
		if path.IsAbs(string(target)) || t == ".." || strings.HasPrefix(t, "../") {
			return node{}, &fs.PathError{Op: op, Path: name, Err: errSymlinkEscape}
		}
		comps = append(splitName(t), comps...)
		cur, dir = root, nil
	}
	if len(dir) > 0 {
		cur.name = dir[len(dir)-1]
	}
	return cur, nil
}

func splitName(name string) []string {
	if name == "." || name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// entry finds child name in directory d.
func (f *treeFS) entry(d node, name string) (node, error) {
	if d.mode == filemode.Submodule {
		return node{}, fs.ErrNotExist
	}
	t, err := f.tree(d.hash)
	if err != nil {
		return node{}, err
	}
	if i, ok := t.byName[name]; ok {
		e := t.entries[i]
		return node{name: e.Name, mode: e.Mode, hash: e.Hash}, nil
	}
	return node{}, fs.ErrNotExist
}

// children lists directory d sorted by name, as fs.ReadDir promises (Git
// sorts directories as if their names ended in "/").
func (f *treeFS) children(d node) ([]node, error) {
	if d.mode == filemode.Submodule {
		return nil, nil
	}
	t, err := f.tree(d.hash)
	if err != nil {
		return nil, err
	}
	out := make([]node, len(t.entries))
	for i, e := range t.entries {
		out[i] = node{name: e.Name, mode: e.Mode, hash: e.Hash}
	}
	slices.SortFunc(out, func(a, b node) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func (f *treeFS) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(f.s, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// fileInfo describes n, whose size is size if it is not a directory.
func (f *treeFS) fileInfo(n node, size int64) *fileInfo {
	fi := &fileInfo{name: n.name, mod: f.mod, size: size}
	switch n.mode {
	case filemode.Dir, filemode.Submodule:
		fi.mode, fi.size = fs.ModeDir|0o755, 0
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case filemode.Executable:
		fi.mode = 0o755
	default:
		fi.mode = 0o644
	}
	return fi
}

// info describes n. Sizes of blobs come from the object header; the caller
// holds f.mu.
func (f *treeFS) info(n node) (*fileInfo, error) {
	fi := f.fileInfo(n, 0)
	if n.isDir() {
		return fi, nil
	}
	if s, ok := f.s.(objectSizer); ok {
		// Reads the object header only: EncodedObject would inflate a loose
		// object whole, and a size cap is checked on Stat precisely so that
		// a huge file is never read.
		size, err := s.EncodedObjectSize(n.hash)
		if err != nil {
			return nil, err
		}
		fi.size = size
		return fi, nil
	}
	o, err := f.s.EncodedObject(plumbing.BlobObject, n.hash)
	if err != nil {
		return nil, err
	}
	fi.size = o.Size()
	return fi, nil
}

// objectSizer reads an object's size from its header; go-git's filesystem
// storage implements it.
type objectSizer interface {
	EncodedObjectSize(h plumbing.Hash) (int64, error)
}

// Open implements fs.FS.
func (f *treeFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		fi, err := f.info(n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		kids, err := f.children(n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &openDir{fs: f, info: fi, path: name, kids: kids}, nil
	}
	// Config files are small; reading the blob whole keeps the storage
	// lock short and the file independent of it. Its size is then the
	// blob's, without reading the object's header first.
	b, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fi := f.fileInfo(n, int64(len(b)))
	return &openFile{info: fi, Reader: bytes.NewReader(b), path: name}, nil
}

// ReadFile implements fs.ReadFileFS.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	b, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// ReadDir implements fs.ReadDirFS.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	kids, err := f.children(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return f.dirEntries(kids), nil
}

func (f *treeFS) dirEntries(kids []node) []fs.DirEntry {
	out := make([]fs.DirEntry, len(kids))
	for i, k := range kids {
		out[i] = &dirEntry{fs: f, n: k}
	}
	return out
}

// Stat implements fs.StatFS.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) { return f.stat("stat", name, true) }

// Lstat implements fs.ReadLinkFS.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) { return f.stat("lstat", name, false) }

func (f *treeFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(op, name, follow)
	if err != nil {
		return nil, err
	}
	fi, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return fi, nil
}

// ReadLink implements fs.ReadLinkFS.
func (f *treeFS) ReadLink(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	b, err := f.blob(n.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(b), nil
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.mod }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }

type dirEntry struct {
	fs *treeFS
	n  node
}

func (d *dirEntry) Name() string { return d.n.name }
func (d *dirEntry) IsDir() bool  { return d.n.isDir() }
func (d *dirEntry) Type() fs.FileMode {
	switch {
	case d.n.isDir():
		return fs.ModeDir
	case d.n.mode == filemode.Symlink:
		return fs.ModeSymlink
	}
	return 0
}

func (d *dirEntry) Info() (fs.FileInfo, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	return d.fs.info(d.n)
}

func (d *dirEntry) String() string { return fs.FormatDirEntry(d) }

type openFile struct {
	*bytes.Reader
	info *fileInfo
	path string
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.info, nil }
func (o *openFile) Close() error               { return nil }

type openDir struct {
	fs   *treeFS
	info *fileInfo
	path string
	kids []node
	pos  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.kids[d.pos:]
	if n > 0 {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		rest = rest[:min(n, len(rest))]
	}
	d.pos += len(rest)
	return d.fs.dirEntries(rest), nil
}
