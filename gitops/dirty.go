package gitops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// change is the first difference found between a worktree folder and HEAD.
type change struct {
	// Path is relative to the worktree root, with forward slashes.
	Path string
	// Why is "untracked", "modified", "deleted", "staged" or "unmerged".
	Why string
}

// findChange reports the first uncommitted change under the worktree folder
// rel ("" for the whole worktree), or nil when there is none. It answers
// what `git status --porcelain -- rel` would answer, restricted to that
// folder so that a config folder in a large monorepo is cheap to check:
//
//   - HEAD against the index: staged additions, changes, deletions, and
//     unmerged entries;
//   - the index against the disk: modified, deleted and mode-changed files,
//     and submodules whose checkout moved or has changes of its own;
//   - files on disk that the index lacks, unless ignored by .gitignore,
//     .git/info/exclude or the user's and system's core.excludesFile.
//     Ignored directories are not descended into, as in Git.
//
// go-git's own Worktree.Status walks and hashes the whole worktree,
// including ignored directories, and reads no global excludes.
//
// Clean/smudge filters and core.autocrlf are not applied, so a file that Git
// normalizes on add may show as modified here.
func findChange(ctx context.Context, repo *git.Repository, root, rel string, head *object.Commit) (*change, error) {
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var prefix string
	if rel != "" {
		prefix = rel + "/"
	}
	var entries []*index.Entry
	tracked := map[string]bool{}
	for _, e := range idx.Entries {
		if strings.HasPrefix(e.Name, prefix) {
			entries = append(entries, e)
			tracked[e.Name] = true
		}
	}

	if c, err := stagedChange(head, rel, entries); c != nil || err != nil {
		return c, err
	}
	d := &differ{root: root, idxTime: idx.ModTime, fileMode: true}
	if cfg, err := repo.Config(); err == nil {
		switch strings.ToLower(cfg.Raw.Section("core").Option("filemode")) {
		case "false", "no", "off", "0":
			d.fileMode = false
		}
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c, err := d.worktreeChange(ctx, e); c != nil || err != nil {
			return c, err
		}
	}

	ps, ignored, err := ignorePatterns(repo, root, rel)
	if err != nil || ignored {
		return nil, err
	}
	return untracked(ctx, root, splitPath(rel), ps, tracked)
}

// stagedChange compares HEAD's tree under rel with the index entries there.
func stagedChange(head *object.Commit, rel string, entries []*index.Entry) (*change, error) {
	type blob struct {
		hash plumbing.Hash
		mode filemode.FileMode
	}
	want := map[string]blob{}
	if head != nil {
		t, err := head.Tree()
		if err != nil {
			return nil, err
		}
		if rel != "" {
			t, err = t.Tree(rel)
			if errors.Is(err, object.ErrDirectoryNotFound) {
				t = nil
			} else if err != nil {
				return nil, err
			}
		}
		if t != nil {
			w := object.NewTreeWalker(t, true, nil)
			defer w.Close()
			for {
				name, e, err := w.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				if e.Mode != filemode.Dir {
					want[path.Join(rel, name)] = blob{e.Hash, e.Mode}
				}
			}
		}
	}
	for _, e := range entries {
		if e.Stage != 0 {
			return &change{e.Name, "unmerged"}, nil
		}
		b, ok := want[e.Name]
		if !ok || b.hash != e.Hash || b.mode != e.Mode {
			return &change{e.Name, "staged"}, nil
		}
		delete(want, e.Name)
	}
	if len(want) > 0 {
		names := make([]string, 0, len(want))
		for n := range want {
			names = append(names, n)
		}
		sort.Strings(names)
		return &change{names[0], "staged"}, nil
	}
	return nil, nil
}

// differ compares index entries with the files on disk.
type differ struct {
	root string
	// idxTime is when the index was written.
	idxTime time.Time
	// fileMode is core.fileMode: whether the executable bit counts.
	fileMode bool
}

func (d *differ) worktreeChange(ctx context.Context, e *index.Entry) (*change, error) {
	if e.SkipWorktree {
		return nil, nil
	}
	p := filepath.Join(d.root, filepath.FromSlash(e.Name))
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return &change{e.Name, "deleted"}, nil
		}
		return nil, err
	}
	switch e.Mode {
	case filemode.Submodule:
		if !fi.IsDir() {
			return &change{e.Name, "modified"}, nil
		}
		return submoduleChange(ctx, p, e)
	case filemode.Symlink:
		if fi.Mode()&fs.ModeSymlink == 0 {
			return &change{e.Name, "modified"}, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		if blobHash([]byte(target)) != e.Hash {
			return &change{e.Name, "modified"}, nil
		}
		return nil, nil
	}
	if !fi.Mode().IsRegular() {
		return &change{e.Name, "modified"}, nil
	}
	if d.fileMode && (fi.Mode()&0o100 != 0) != (e.Mode == filemode.Executable) {
		return &change{e.Name, "modified"}, nil
	}
	if d.statClean(fi, e) {
		return nil, nil
	}
	h, err := fileHash(p, fi.Size())
	if err != nil {
		return nil, err
	}
	if h != e.Hash {
		return &change{e.Name, "modified"}, nil
	}
	return nil, nil
}

// statClean trusts the index's size and mtime for a file, as Git does,
// unless the file was written no earlier than the index: then it may have
// changed within the same timestamp tick ("racy git") and must be hashed.
func (d *differ) statClean(fi fs.FileInfo, e *index.Entry) bool {
	return !d.idxTime.IsZero() &&
		uint32(fi.Size()) == e.Size &&
		fi.ModTime().Equal(e.ModifiedAt) &&
		fi.ModTime().Before(d.idxTime)
}

// submoduleChange reports a submodule whose checkout is not the commit the
// index records, or that has changes of its own. An uninitialized
// submodule (an empty directory) is clean, as in Git.
func submoduleChange(ctx context.Context, dir string, e *index.Entry) (*change, error) {
	sub, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open submodule %s: %w", e.Name, err)
	}
	head, err := sub.Head()
	if err != nil || head.Hash() != e.Hash {
		return &change{e.Name, "modified"}, nil
	}
	hc, err := sub.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("submodule %s: %w", e.Name, err)
	}
	c, err := findChange(ctx, sub, dir, "", hc)
	if err != nil || c == nil {
		return nil, err
	}
	return &change{e.Name + "/" + c.Path, c.Why}, nil
}

// ignorePatterns collects the ignore rules in force at the worktree folder
// rel, lowest priority first: system and user excludes files,
// .git/info/exclude, then each .gitignore from the root down to rel. ignored
// reports that rel itself lies in an ignored directory, so nothing
// untracked under it counts.
func ignorePatterns(repo *git.Repository, root, rel string) (ps []gitignore.Pattern, ignored bool, err error) {
	rootFS := osfs.New("/")
	// Unreadable global config is not worth failing a load over; Git
	// itself warns and carries on.
	sys, _ := gitignore.LoadSystemPatterns(rootFS)
	ps = append(ps, sys...)
	global, _ := gitignore.LoadGlobalPatterns(rootFS)
	if len(global) == 0 {
		global, _ = readIgnoreFile(defaultGlobalExcludes(), nil)
	}
	ps = append(ps, global...)
	if s, ok := repo.Storer.(*filesystem.Storage); ok {
		// Through go-git's filesystem so that a linked worktree finds the
		// file in the common directory.
		if f, err := s.Filesystem().Open("info/exclude"); err == nil {
			ps = append(ps, parseIgnore(f, nil)...)
			f.Close()
		}
	}
	comps := splitPath(rel)
	for i := 0; i <= len(comps); i++ {
		dir := comps[:i]
		if i > 0 && gitignore.NewMatcher(ps).Match(dir, true) {
			return nil, true, nil
		}
		// The folder's own .gitignore is read by untracked.
		if i == len(comps) {
			break
		}
		more, err := readWorktreeIgnore(filepath.Join(root, filepath.Join(dir...), ".gitignore"), dir)
		if err != nil {
			return nil, false, err
		}
		ps = append(ps, more...)
	}
	return ps, false, nil
}

// untracked walks the worktree folder dir for a file the index lacks and
// no pattern ignores.
func untracked(ctx context.Context, root string, dir []string, ps []gitignore.Pattern, tracked map[string]bool) (*change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	osDir := filepath.Join(root, filepath.Join(dir...))
	more, err := readWorktreeIgnore(filepath.Join(osDir, ".gitignore"), dir)
	if err != nil {
		return nil, err
	}
	// Cap the slice so that sibling folders never see each other's rules.
	ps = append(ps[:len(ps):len(ps)], more...)
	m := gitignore.NewMatcher(ps)
	des, err := os.ReadDir(osDir)
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		name := de.Name()
		if name == ".git" {
			continue
		}
		comps := append(dir[:len(dir):len(dir)], name)
		p := strings.Join(comps, "/")
		if tracked[p] {
			continue
		}
		switch {
		case de.IsDir():
			if m.Match(comps, true) {
				continue
			}
			if c, err := untracked(ctx, root, comps, ps, tracked); c != nil || err != nil {
				return c, err
			}
		case de.Type().IsRegular() || de.Type()&fs.ModeSymlink != 0:
			if !m.Match(comps, false) {
				return &change{p, "untracked"}, nil
			}
		}
		// Sockets, pipes and devices are invisible to Git.
	}
	return nil, nil
}

// readWorktreeIgnore is readIgnoreFile for a .gitignore in the worktree,
// which is config-repo content: like Git (2.32 and later) it reads only a
// regular file, never through a symbolic link (which could lead to a FIFO
// and block, or out of the tree).
func readWorktreeIgnore(name string, domain []string) ([]gitignore.Pattern, error) {
	fi, err := os.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist) || isNotDir(err):
		return nil, nil
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, nil
	}
	return readIgnoreFile(name, domain)
}

// readIgnoreFile parses a gitignore-format file whose patterns apply below
// domain. A missing file has no patterns.
func readIgnoreFile(name string, domain []string) ([]gitignore.Pattern, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseIgnore(f, domain), nil
}

func parseIgnore(r io.Reader, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// defaultGlobalExcludes is where Git looks for user excludes when
// core.excludesFile is unset.
func defaultGlobalExcludes() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "git", "ignore")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "git", "ignore")
}

// blobHash is Git's object ID for content stored as a blob.
func blobHash(b []byte) plumbing.Hash {
	h := plumbing.NewHasher(plumbing.BlobObject, int64(len(b)))
	h.Write(b)
	return h.Sum()
}

// fileHash is Git's object ID for a file's content.
func fileHash(name string, size int64) (plumbing.Hash, error) {
	f, err := os.Open(name)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, size)
	n, err := io.Copy(h, f)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if n != size {
		// Changed while we read it: certainly not what the index holds.
		return plumbing.ZeroHash, nil
	}
	return h.Sum(), nil
}

// isNotDir reports a path one of whose parents is a file: as good as
// missing.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func splitPath(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}
