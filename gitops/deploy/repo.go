package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
)

// maxManifest bounds one file read back from the deploy repo.
const maxManifest = 4 << 20

// Author is the identity of Meridian's commits.
var author = object.Signature{Name: "Meridian", Email: "meridian@meridian.invalid"}

// repo is the deploy repository: a local bare repository written in place,
// or a remote one cloned into memory and pushed to.
type repo struct {
	// name is safe to show (no credentials).
	name   string
	url    string
	local  string
	branch string
	// prefix is deploy.path, "" for the repository root.
	prefix string
	auth   transport.AuthMethod
	log    *slog.Logger
	// readOnly keeps read from creating a missing local repository.
	readOnly bool
}

func openRepo(s settings, stateDir string, auth gitops.AuthOptions, log *slog.Logger) (*repo, error) {
	r := &repo{branch: s.Branch, prefix: s.Path, log: log}
	if isRemote(s.Repo) {
		r.url, r.name = s.Repo, gitops.RedactURL(s.Repo)
		// The settings come from trusted configuration: the tracked
		// branch, or for a pull request its base (meridian.ReviewConfig),
		// so deploy.repo's host may receive the Git token. Callers must
		// never hand this package a pull request head's own settings.
		m, err := auth.WithTokenHostOf(s.Repo).Method(s.Repo)
		if err != nil {
			return nil, err
		}
		r.auth = m
		return r, nil
	}
	p, err := localPath(s.Repo, stateDir)
	if err != nil {
		return nil, err
	}
	r.local, r.name = p, p
	return r, nil
}

// snapshot is the deploy branch as read: the repository holding its objects
// (so that a commit can reuse them), its head (nil before the first commit)
// and the files under the deploy path.
type snapshot struct {
	git  *git.Repository
	head *object.Commit
	tree Tree
}

// Head is the commit SHA the snapshot was read at, "" for an empty branch.
func (s *snapshot) Head() string {
	if s.head == nil {
		return ""
	}
	return s.head.Hash.String()
}

func (r *repo) read(ctx context.Context) (*snapshot, error) {
	var (
		g   *git.Repository
		err error
	)
	if r.local != "" {
		if _, statErr := os.Stat(r.local); r.readOnly && errors.Is(statErr, os.ErrNotExist) {
			return &snapshot{tree: Tree{}}, nil
		}
		g, err = r.openLocal()
	} else {
		g, err = r.clone(ctx)
	}
	if err != nil {
		return nil, err
	}
	s := &snapshot{git: g, tree: Tree{}}
	ref, err := g.Reference(plumbing.NewBranchReferenceName(r.branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: read branch %s: %w", r.name, r.branch, err)
	}
	if s.head, err = g.CommitObject(ref.Hash()); err != nil {
		return nil, fmt.Errorf("deploy repo %s: read commit %s: %w", r.name, ref.Hash(), err)
	}
	if s.tree, err = r.files(s.head); err != nil {
		return nil, err
	}
	return s, nil
}

// openLocal opens the local bare repository, creating it on first use so
// that the example works with no setup.
func (r *repo) openLocal() (*git.Repository, error) {
	g, err := git.PlainOpen(r.local)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if _, statErr := os.Stat(r.local); statErr == nil {
			if entries, _ := os.ReadDir(r.local); len(entries) > 0 {
				return nil, meridian.Errorf(meridian.EINVALID, "deploy repo %s exists and is not a Git repository", r.local)
			}
		}
		if err := os.MkdirAll(r.local, 0o755); err != nil {
			return nil, fmt.Errorf("deploy repo %s: %w", r.local, err)
		}
		g, err = git.PlainInit(r.local, true)
		if err != nil {
			return nil, fmt.Errorf("deploy repo %s: create bare repository: %w", r.local, err)
		}
		head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(r.branch))
		if err := g.Storer.SetReference(head); err != nil {
			return nil, fmt.Errorf("deploy repo %s: set HEAD: %w", r.local, err)
		}
		r.log.Info("created local deploy repository", "repo", r.local, "branch", r.branch)
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: %w", r.local, err)
	}
	// Meridian writes objects and refs directly; a working tree would be
	// left behind its own branch, so only bare repositories are accepted.
	if _, err := g.Worktree(); err == nil {
		return nil, meridian.Errorf(meridian.EINVALID, "deploy repo %s is a working tree: give a bare repository (git init --bare) or a Git URL", r.local)
	}
	return g, nil
}

// clone fetches the deploy branch into memory. An empty remote, or one
// without the branch, gives an empty repository whose first commit creates
// the branch.
func (r *repo) clone(ctx context.Context) (*git.Repository, error) {
	g, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL:           r.url,
		Auth:          r.auth,
		ReferenceName: plumbing.NewBranchReferenceName(r.branch),
		SingleBranch:  true,
		NoCheckout:    true,
		Tags:          git.NoTags,
	})
	var noRef git.NoMatchingRefSpecError
	switch {
	case err == nil:
		return g, nil
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &noRef), errors.Is(err, plumbing.ErrReferenceNotFound):
		r.log.Info("deploy branch does not exist yet", "repo", r.name, "branch", r.branch)
		g, err := git.Init(memory.NewStorage(), nil)
		if err != nil {
			return nil, fmt.Errorf("deploy repo %s: %w", r.name, err)
		}
		if _, err := g.CreateRemote(&gitconfig.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{r.url}}); err != nil {
			return nil, fmt.Errorf("deploy repo %s: %w", r.name, err)
		}
		return g, nil
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return nil, fmt.Errorf("deploy repo %s: %w: %w", r.name, meridian.Errorf(meridian.EUNAUTHORIZED, "credentials rejected"), err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return nil, fmt.Errorf("deploy repo %s: %w: %w", r.name, meridian.Errorf(meridian.ENOTFOUND, "repository not found"), err)
	}
	return nil, fmt.Errorf("deploy repo %s: clone: %w", r.name, r.scrub(err))
}

// files reads every file under the deploy path of commit c.
func (r *repo) files(c *object.Commit) (Tree, error) {
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: tree of %s: %w", r.name, c.Hash, err)
	}
	t := root
	if r.prefix != "" {
		t, err = root.Tree(r.prefix)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return Tree{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("deploy repo %s: %s: %w", r.name, r.prefix, err)
		}
	}
	out := Tree{}
	err = t.Files().ForEach(func(f *object.File) error {
		if f.Size > maxManifest {
			return meridian.Errorf(meridian.EINVALID, "%s is larger than %d bytes", f.Name, maxManifest)
		}
		rd, err := f.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		b, err := io.ReadAll(rd)
		if err != nil {
			return err
		}
		out[f.Name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deploy repo %s: read files: %w", r.name, err)
	}
	return out, nil
}

// errConflict marks a push or ref update that lost a race with another
// writer; the caller re-reads and tries again.
var errConflict = meridian.Errorf(meridian.ECONFLICT, "the deploy branch moved while Meridian was writing it")

// commit writes files as the deploy path's complete content on top of the
// snapshot's head, leaving everything outside the deploy path as it is, and
// publishes it. It returns the new commit's SHA, or "" and no error when the
// content is already what the head holds: an unchanged plan makes no commit.
func (r *repo) commit(ctx context.Context, snap *snapshot, files Tree, message string, now time.Time) (string, error) {
	st := snap.git.Storer
	flat := map[string]treeEntry{}
	if snap.head != nil {
		root, err := snap.head.Tree()
		if err != nil {
			return "", fmt.Errorf("deploy repo %s: %w", r.name, err)
		}
		if err := flatten(root, "", flat); err != nil {
			return "", fmt.Errorf("deploy repo %s: %w", r.name, err)
		}
	}
	for p := range flat {
		if r.prefix == "" || p == r.prefix || strings.HasPrefix(p, r.prefix+"/") {
			delete(flat, p)
		}
	}
	for _, p := range files.Paths() {
		if !clean(p) {
			return "", meridian.Errorf(meridian.EINTERNAL, "deploy tree path %q is not clean", p)
		}
		h, err := writeObject(st, plumbing.BlobObject, files[p])
		if err != nil {
			return "", fmt.Errorf("deploy repo %s: write %s: %w", r.name, p, err)
		}
		full := p
		if r.prefix != "" {
			full = path.Join(r.prefix, p)
		}
		flat[full] = treeEntry{hash: h, mode: filemode.Regular}
	}
	treeHash, err := writeTree(st, "", flat)
	if err != nil {
		return "", fmt.Errorf("deploy repo %s: write tree: %w", r.name, err)
	}
	var parents []plumbing.Hash
	if snap.head != nil {
		if snap.head.TreeHash == treeHash {
			return "", nil
		}
		parents = []plumbing.Hash{snap.head.Hash}
	}
	sig := author
	sig.When = now
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: treeHash, ParentHashes: parents}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", fmt.Errorf("deploy repo %s: encode commit: %w", r.name, err)
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return "", fmt.Errorf("deploy repo %s: write commit: %w", r.name, err)
	}
	if err := r.publish(ctx, snap, h); err != nil {
		return "", err
	}
	r.log.Info("committed to deploy repo", "repo", r.name, "branch", r.branch, "commit", h.String())
	return h.String(), nil
}

// publish moves the branch to h: a compare-and-swap on a local repository,
// a push (which Git refuses unless it fast-forwards) on a remote one.
func (r *repo) publish(ctx context.Context, snap *snapshot, h plumbing.Hash) error {
	name := plumbing.NewBranchReferenceName(r.branch)
	newRef := plumbing.NewHashReference(name, h)
	var old *plumbing.Reference
	if snap.head != nil {
		old = plumbing.NewHashReference(name, snap.head.Hash)
	}
	if r.local != "" {
		if old == nil {
			if _, err := snap.git.Reference(name, false); err == nil {
				return errConflict
			}
		}
		if err := snap.git.Storer.CheckAndSetReference(newRef, old); err != nil {
			if errors.Is(err, storage.ErrReferenceHasChanged) {
				return errConflict
			}
			return fmt.Errorf("deploy repo %s: update %s: %w", r.name, name, err)
		}
		return nil
	}
	if err := snap.git.Storer.SetReference(newRef); err != nil {
		return fmt.Errorf("deploy repo %s: %w", r.name, err)
	}
	err := snap.git.PushContext(ctx, &git.PushOptions{
		RemoteName: git.DefaultRemoteName,
		RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec(name + ":" + name)},
		Auth:       r.auth,
	})
	switch {
	case err == nil:
		return nil
	// go-git reports a rejected non-fast-forward push only as text.
	case errors.Is(err, git.ErrForceNeeded), strings.Contains(err.Error(), "non-fast-forward"):
		return fmt.Errorf("deploy repo %s: push: %w: %w", r.name, errConflict, err)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("deploy repo %s: push: %w: %w", r.name, meridian.Errorf(meridian.EUNAUTHORIZED, "credentials rejected"), err)
	}
	return fmt.Errorf("deploy repo %s: push: %w", r.name, r.scrub(err))
}

// scrub hides credentials written into the deploy repo URL (a token is
// often the user name: https://TOKEN@host/repo) from a transport error,
// which may quote the URL. errors.Is and errors.As still see the cause.
func (r *repo) scrub(err error) error {
	u, perr := url.Parse(r.url)
	if err == nil || perr != nil || u.User == nil {
		return err
	}
	secrets := []string{u.User.String(), u.User.Username()}
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	return &scrubbed{err: err, secrets: secrets}
}

type scrubbed struct {
	err     error
	secrets []string
}

func (e *scrubbed) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "REDACTED")
		}
	}
	return msg
}

func (e *scrubbed) Unwrap() error { return e.err }

type treeEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// flatten lists every non-tree entry of t under prefix.
func flatten(t *object.Tree, prefix string, out map[string]treeEntry) error {
	for _, e := range t.Entries {
		p := path.Join(prefix, e.Name)
		if e.Mode == filemode.Dir {
			sub, err := t.Tree(e.Name)
			if err != nil {
				return err
			}
			if err := flatten(sub, p, out); err != nil {
				return err
			}
			continue
		}
		out[p] = treeEntry{hash: e.Hash, mode: e.Mode}
	}
	return nil
}

// writeTree writes the tree objects for the entries below dir and returns
// the hash of dir's tree. Entries are sorted the way Git sorts them (a
// folder as its name plus "/"), so the same files always give the same hash.
func writeTree(st storer.EncodedObjectStorer, dir string, flat map[string]treeEntry) (plumbing.Hash, error) {
	children := map[string]bool{}
	files := map[string]treeEntry{}
	for p, e := range flat {
		rel := p
		if dir != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(p, dir+"/"); !ok {
				continue
			}
		}
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			children[rel[:i]] = true
		} else {
			files[rel] = e
		}
	}
	var entries []object.TreeEntry
	for name := range children {
		h, err := writeTree(st, path.Join(dir, name), flat)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	for name, e := range files {
		entries = append(entries, object.TreeEntry{Name: name, Mode: e.mode, Hash: e.hash})
	}
	sort.Slice(entries, func(i, j int) bool { return gitName(entries[i]) < gitName(entries[j]) })
	t := &object.Tree{Entries: entries}
	obj := st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

func gitName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func writeObject(st storer.EncodedObjectStorer, t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	obj.SetType(t)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(b); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}
