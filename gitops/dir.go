package gitops

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/meridianhq/meridian"
)

// loadDir reads a directory as the config root. Inside a Git worktree it
// records HEAD and whether the directory has uncommitted changes; with a
// ref it reads the directory's content at that commit from the enclosing
// repository instead, which is how a planner compares a working copy with
// main without cloning anything.
func loadDir(ctx context.Context, src *source, ref string, log *slog.Logger) (*Snapshot, error) {
	// Git searches upwards from the real directory, not from the textual
	// parents of a symlink to it; go-git does the latter.
	real, err := filepath.EvalSymlinks(src.dir)
	if err != nil {
		return nil, loadError(src.name, meridian.EINVALID, err, "resolve directory")
	}
	repo, root, err := openEnclosing(real)
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "open enclosing Git repository")
	}
	if repo == nil {
		if ref != "" {
			return nil, meridian.Errorf(meridian.EINVALID,
				"load config repo %q: ref %q given, but the directory is not in a Git repository", src.name, ref)
		}
		log.Debug("config directory is not in Git")
		fsys, err := newDirFS(src.dir)
		if err != nil {
			return nil, loadError(src.name, meridian.EINVALID, err, "open directory")
		}
		return &Snapshot{FS: fsys, Source: src.name}, nil
	}
	rel, err := relPath(root, real)
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "locate directory in worktree %s", root)
	}
	if ref != "" {
		return loadDirAt(src, repo, rel, ref)
	}

	fsys, err := newDirFS(src.dir)
	if err != nil {
		return nil, loadError(src.name, meridian.EINVALID, err, "open directory")
	}
	snap := &Snapshot{FS: fsys, Source: src.name}
	var head *object.Commit
	h, err := repo.Head()
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		// No commits yet: everything in the folder is uncommitted.
	case err != nil:
		return nil, loadError(src.name, meridian.EINTERNAL, err, "read HEAD")
	default:
		head, err = repo.CommitObject(h.Hash())
		if err != nil {
			return nil, loadError(src.name, meridian.EINTERNAL, err, "read HEAD commit")
		}
		snap.Commit = head.Hash.String()
		snap.Ref = displayRef("", h.Name(), head)
	}
	c, err := findChange(ctx, repo, root, rel, head)
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "check for uncommitted changes")
	}
	if c != nil {
		snap.Dirty = true
		log.Debug("config directory has uncommitted changes", "path", c.Path, "change", c.Why)
	}
	log.Debug("loaded config directory", "worktree", root, "commit", snap.Commit, "dirty", snap.Dirty)
	return snap, nil
}

// loadDirAt reads the worktree folder rel at ref from repo's object store.
func loadDirAt(src *source, repo *git.Repository, rel, ref string) (*Snapshot, error) {
	c, resolved, err := resolveLocal(repo.Storer, ref)
	if err != nil {
		return nil, resolveError(src.name, ref, "resolve ref", err)
	}
	t, err := c.Tree()
	if err == nil && rel != "" {
		t, err = t.Tree(rel)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, loadError(src.name, meridian.ENOTFOUND, err, "%s does not exist at %s (%s)", rel, ref, c.Hash)
		}
	}
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "read tree of %s", c.Hash)
	}
	return &Snapshot{
		FS:     newTreeFS(repo.Storer, t.Hash, c.Committer.When),
		Source: src.name,
		Ref:    resolved,
		Commit: c.Hash.String(),
	}, nil
}

// openEnclosing opens the Git repository whose worktree holds dir, looking
// upwards as Git does. It returns a nil repository when there is none, and
// when the nearest repository is bare (dir is then inside a Git directory,
// not a worktree).
func openEnclosing(dir string) (*git.Repository, string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return repo, wt.Filesystem.Root(), nil
}

// relPath is dir relative to the worktree root, with forward slashes and ""
// for the root itself. Symlinks are resolved on both sides, so that a
// config path reached through a symlink (macOS's /tmp, say) still lands
// inside the worktree.
func relPath(root, dir string) (string, error) {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, d)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}
