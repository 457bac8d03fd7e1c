package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/meridianhq/meridian"
)

// mirrorRefSpecs keep every branch and tag of the remote under the same name
// in the mirror, so that later loads of any of them fetch only what is new.
var mirrorRefSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
}

// cacheKey names a source's mirror. It hashes the redacted URL, so neither
// the path nor a directory listing reveals credentials, and a rotated token
// keeps using the same mirror.
func cacheKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// loadRemote mirrors src into cacheDir, resolves ref there and returns the
// tree at that commit.
func loadRemote(ctx context.Context, src *source, ref, cacheDir string, opts Options, log *slog.Logger) (*Snapshot, error) {
	a := opts.Auth
	if len(a.TokenHosts) == 0 {
		// The source is what the operator pointed Meridian at, so it may
		// have the token; nothing else may unless the caller says so.
		a = a.WithTokenHostOf(src.raw)
	}
	auth, err := a.method(src.ep)
	if err != nil {
		return nil, fmt.Errorf("load config repo %q: %w", src.name, err)
	}
	secrets := append(secretsOf(src.raw), a.Token, a.SSHKeyPassphrase)
	if b, ok := auth.(*boundAuth); ok {
		secrets = append(secrets, b.Password)
	}

	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, loadError(src.name, meridian.EINVALID, err, "create cache directory")
	}
	key := cacheKey(src.name)
	dir := filepath.Join(cacheDir, key+".git")
	log = log.With("cache", dir)
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, key+".lock"), log)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("load config repo %q: %w", src.name, err)
	}
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "lock cache")
	}
	defer unlock()

	repo, err := openMirror(dir, src.name, log)
	if err != nil {
		return nil, loadError(src.name, meridian.EINTERNAL, err, "open cache")
	}
	m := &mirror{
		repo: repo,
		// The remote lives in memory only: the URL go-git sees has no
		// credentials, and auth travels separately.
		remote:   git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{src.url}}),
		auth:     auth,
		caBundle: opts.CABundle,
		log:      log,
	}
	c, resolved, err := m.resolve(ctx, ref)
	if err != nil {
		err = scrub(err, secrets)
		if errors.Is(err, transport.ErrAuthenticationRequired) {
			if auth != nil {
				return nil, loadError(src.name, meridian.EUNAUTHORIZED, err, "credentials rejected")
			}
			return nil, loadError(src.name, meridian.EUNAUTHORIZED, err,
				"authentication required: set $%s or pass a token", a.tokenEnv())
		}
		return nil, resolveError(src.name, ref, "fetch", err)
	}
	fsys := newTreeFS(repo.Storer, c.TreeHash, c.Committer.When)
	log.Debug("loaded config repo", "ref", resolved, "commit", c.Hash.String())
	return &Snapshot{FS: fsys, Source: src.name, Ref: resolved, Commit: c.Hash.String()}, nil
}

// resolveError gives a failed fetch or ref resolution its code. what names
// the step for errors that have no better description.
func resolveError(name, ref, what string, err error) error {
	var me *meridian.Error
	switch {
	case errors.As(err, &me):
		return fmt.Errorf("load config repo %q: %w", name, err)
	case errors.Is(err, plumbing.ErrReferenceNotFound), errors.Is(err, plumbing.ErrObjectNotFound):
		if ref == "" {
			ref = "HEAD"
		}
		return loadError(name, meridian.ENOTFOUND, err, "ref %q not found", ref)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return loadError(name, meridian.ENOTFOUND, err, "repository is empty")
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return loadError(name, meridian.ENOTFOUND, err, "repository not found")
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return loadError(name, meridian.EUNAUTHORIZED, err, "authentication required")
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return loadError(name, meridian.EFORBIDDEN, err, "access denied")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("load config repo %q: %w", name, err)
	}
	return loadError(name, meridian.EINTERNAL, err, "%s", what)
}

// openMirror opens the bare mirror at dir, creating it if it is missing and
// recreating it if it is unreadable; a cache is disposable.
func openMirror(dir, name string, log *slog.Logger) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if err == nil {
		return repo, nil
	}
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		log.Warn("cache mirror unreadable, recreating it", "err", err)
	}
	// A crash may have left the mirror or a half-made one behind.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	stale, _ := filepath.Glob(dir + ".init-*")
	for _, s := range stale {
		_ = os.RemoveAll(s)
	}
	// Build the repository aside and rename it into place, so that a crash
	// never leaves a mirror that opens but is broken.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".init-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r, err := git.PlainInit(tmp, true)
	if err != nil {
		return nil, fmt.Errorf("init mirror: %w", err)
	}
	// Recorded for whoever inspects the cache with git; fetches use an
	// in-memory remote.
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{name}, Fetch: mirrorRefSpecs}); err != nil {
		return nil, fmt.Errorf("init mirror: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return git.PlainOpen(dir)
}

// mirror is one cached bare repository, locked by the caller.
type mirror struct {
	repo     *git.Repository
	remote   *git.Remote
	auth     transport.AuthMethod
	caBundle []byte
	log      *slog.Logger
}

// resolve finds the commit ref names on the remote, fetching what the mirror
// lacks. It asks the remote for its refs first and skips the fetch when the
// mirror already holds the commit, so an unchanged repository costs one
// round trip. A full SHA already in the mirror needs no network at all: the
// content of a commit never changes.
func (m *mirror) resolve(ctx context.Context, ref string) (*object.Commit, string, error) {
	s := m.repo.Storer
	if isFullSHA(ref) {
		if c, err := resolveSHA(s, ref); err == nil {
			m.log.Debug("commit already in cache", "commit", c.Hash.String())
			return c, c.Hash.String(), nil
		}
	}
	adv, err := m.list(ctx)
	if err != nil {
		return nil, "", err
	}
	name, hash, found, err := lookupAdvertised(adv, ref)
	if err != nil {
		return nil, "", err
	}
	if !found || !hasObject(s, hash) {
		specs := mirrorRefSpecs
		if found && !name.IsBranch() && !name.IsTag() && name != plumbing.HEAD {
			// e.g. refs/pull/7/head, which the mirror refspecs skip.
			specs = append(specs[:len(specs):len(specs)], config.RefSpec("+"+name+":"+name))
		}
		if err := m.fetch(ctx, specs); err != nil {
			return nil, "", err
		}
		if found {
			// The ref may have moved since it was listed; the mirror now
			// has the newer value.
			if r, err := s.Reference(name); err == nil && name != plumbing.HEAD {
				hash = r.Hash()
			}
		}
	}
	switch {
	case found:
		c, err := peel(s, hash)
		if err != nil {
			return nil, "", err
		}
		return c, displayRef(ref, name, c), nil
	case isFullSHA(ref) || isShortSHA(ref):
		c, err := resolveSHA(s, ref)
		if err != nil {
			return nil, "", err
		}
		return c, c.Hash.String(), nil
	}
	return nil, "", plumbing.ErrReferenceNotFound
}

// list returns the remote's advertised refs by name.
func (m *mirror) list(ctx context.Context) (map[plumbing.ReferenceName]*plumbing.Reference, error) {
	refs, err := m.remote.ListContext(ctx, &git.ListOptions{Auth: m.auth, CABundle: m.caBundle})
	if err != nil {
		return nil, fmt.Errorf("list remote refs: %w", err)
	}
	out := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		out[r.Name()] = r
	}
	return out, nil
}

// fetch brings the mirror up to date with the remote for specs, dropping
// branches and tags the remote no longer has.
func (m *mirror) fetch(ctx context.Context, specs []config.RefSpec) error {
	start := time.Now()
	err := m.remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: specs,
		Auth:     m.auth,
		CABundle: m.caBundle,
		Tags:     git.NoTags, // the tag refspec already takes them all
		Force:    true,
		Prune:    true,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	m.log.Info("fetched config repo", "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// lookupAdvertised resolves ref against the remote's refs: "" and "HEAD" are
// the remote's default branch, other names go through refCandidates, and a
// short name that more than one of them answers to is an EINVALID error.
// found is false when ref names no ref (it may still be a SHA).
func lookupAdvertised(adv map[plumbing.ReferenceName]*plumbing.Reference, ref string) (name plumbing.ReferenceName, hash plumbing.Hash, found bool, err error) {
	if ref == "" || ref == "HEAD" {
		head, ok := adv[plumbing.HEAD]
		if !ok {
			return "", plumbing.ZeroHash, false, meridian.Errorf(meridian.ENOTFOUND, "remote advertises no HEAD; pass a ref")
		}
		if head.Type() == plumbing.HashReference {
			return plumbing.HEAD, head.Hash(), true, nil
		}
		target, ok := adv[head.Target()]
		if !ok {
			return "", plumbing.ZeroHash, false, meridian.Errorf(meridian.ENOTFOUND,
				"remote HEAD points to %s, which does not exist; pass a ref", head.Target())
		}
		return target.Name(), target.Hash(), true, nil
	}
	if isFullSHA(ref) {
		return "", plumbing.ZeroHash, false, nil
	}
	var names []plumbing.ReferenceName
	for _, n := range refCandidates(ref, false) {
		if r, ok := adv[n]; ok && r.Type() == plumbing.HashReference && !strings.HasSuffix(string(n), "^{}") {
			names = append(names, n)
		}
	}
	switch len(names) {
	case 0:
		return "", plumbing.ZeroHash, false, nil
	case 1:
		return names[0], adv[names[0]].Hash(), true, nil
	}
	return "", plumbing.ZeroHash, false, ambiguous(ref, names)
}
