package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/meridianhq/meridian"
)

// Options tunes Load. The zero value is ready to use.
type Options struct {
	// CacheDir holds one bare mirror per Git URL. Empty means
	// os.UserCacheDir()/meridian/repos, which on Linux is
	// $XDG_CACHE_HOME/meridian/repos or ~/.cache/meridian/repos.
	CacheDir string
	// Auth supplies credentials for remote repositories.
	Auth AuthOptions
	// CABundle is extra PEM-encoded root certificates trusted for HTTPS
	// remotes, on top of the system pool.
	CABundle []byte
	// Logger receives progress at debug level and fetches at info level.
	// Nil discards.
	Logger *slog.Logger
}

// Snapshot is a config repo as of one commit (or one moment, for a
// directory with uncommitted changes).
type Snapshot struct {
	// FS is the config root.
	FS fs.FS
	// Source is what was asked for: the URL with credentials stripped, or
	// the absolute directory.
	Source string
	// Ref is the ref as resolved: a branch or tag name, or a full SHA when
	// the ref was a SHA or HEAD is detached. Empty outside Git.
	Ref string
	// Commit is the full SHA of the commit the config was read at, or of the
	// enclosing worktree's HEAD for a directory. Empty outside Git and in a
	// repository without commits.
	Commit string
	// Dirty is set when FS is a working directory whose content differs from
	// Commit: modified, staged, deleted or untracked (but not ignored) files.
	Dirty bool
}

// Load reads the config repo at source. source is a directory or a Git URL
// (see the package doc); ref is a branch, tag, full ref name, or full or
// short commit SHA, and empty means the remote's default branch (for a URL)
// or the working directory as it is (for a directory).
//
// A short ref name must be unambiguous: when a branch and a tag (or any two
// refs Git would try) share it, Load refuses it and the caller must give the
// full name. A caller that tracks a branch passes BranchRef(branch), which
// never resolves to anything but that branch.
//
// Errors carry a meridian error code: EINVALID for a malformed source or
// ref (see ValidateRef) and an ambiguous ref, ENOTFOUND for a missing
// directory, repository or ref, EUNAUTHORIZED and EFORBIDDEN for rejected
// credentials.
func Load(ctx context.Context, source, ref string, opts Options) (*Snapshot, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src, err := parseSource(source)
	if err != nil {
		return nil, err
	}
	if err := ValidateRef(ref); err != nil {
		return nil, fmt.Errorf("load config repo %q: %w", src.name, err)
	}
	log = log.With("source", src.name)
	if src.dir != "" {
		return loadDir(ctx, src, ref, log)
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, loadError(src.name, meridian.EINVALID, err, "no cache directory: set Options.CacheDir")
		}
		cacheDir = filepath.Join(base, "meridian", "repos")
	}
	return loadRemote(ctx, src, ref, cacheDir, opts, log)
}

// source is a parsed Load source: exactly one of dir and ep is set.
type source struct {
	// name is what the user asked for, safe to show: the absolute directory
	// or the URL without credentials. It also keys the cache.
	name string
	// dir is the absolute directory to read as the config root.
	dir string
	// ep is the Git endpoint to mirror, with credentials still in it.
	ep *transport.Endpoint
	// url is what go-git is given: name, except that a plain path is kept as
	// a path so that go-git's file transport takes it.
	url string
	// raw is the source as given, which may hold credentials.
	raw string
}

// SourceName returns the name Load gives raw in Snapshot.Source: the
// absolute directory, file:// and the absolute path of a local bare
// repository, or the URL without credentials. Callers that key records by
// repo (the server's store) need it before the repo can be reached.
func SourceName(raw string) (string, error) {
	src, err := parseSource(raw)
	if err != nil {
		return "", err
	}
	return src.name, nil
}

// parseSource tells directories from Git URLs. An existing local path wins
// over an scp-like reading of it, so a directory named "a:b" stays a
// directory. A local bare repository is mirrored like any URL, because
// reading a repository that someone may be pushing to or garbage-collecting
// is less safe than reading our own mirror of it.
func parseSource(raw string) (*source, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "load config repo: empty source")
	}
	if !strings.Contains(raw, "://") {
		if fi, err := os.Stat(raw); err == nil || !looksSCPLike(raw) {
			return parseLocal(raw, fi, err)
		}
	}
	name := RedactURL(raw)
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, loadError(name, meridian.EINVALID, scrub(err, secretsOf(raw)), "not a Git URL")
	}
	switch ep.Protocol {
	case "file":
		abs, err := filepath.Abs(ep.Path)
		if err != nil {
			return nil, loadError(name, meridian.EINVALID, err, "bad path")
		}
		ep.Path = abs
		return &source{name: "file://" + filepath.ToSlash(abs), ep: ep, url: abs, raw: raw}, nil
	case "http", "https", "ssh", "git":
		return &source{name: name, ep: ep, url: name, raw: raw}, nil
	}
	return nil, meridian.Errorf(meridian.EINVALID, "load config repo %q: unsupported URL scheme %q", name, ep.Protocol)
}

// parseLocal handles a source that is a path on disk. fi and statErr are
// os.Stat's results for it.
func parseLocal(raw string, fi os.FileInfo, statErr error) (*source, error) {
	abs, err := filepath.Abs(raw)
	if err != nil {
		return nil, loadError(raw, meridian.EINVALID, err, "bad path")
	}
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		return nil, loadError(abs, meridian.ENOTFOUND, statErr, "no such directory")
	case statErr != nil:
		return nil, loadError(abs, meridian.EINVALID, statErr, "cannot read")
	case !fi.IsDir():
		return nil, meridian.Errorf(meridian.EINVALID, "load config repo %q: not a directory", abs)
	}
	if isBareRepo(abs) {
		ep := &transport.Endpoint{Protocol: "file", Path: abs}
		return &source{name: "file://" + filepath.ToSlash(abs), ep: ep, url: abs}, nil
	}
	return &source{name: abs, dir: abs}, nil
}

// isBareRepo reports whether dir has the layout of a Git directory itself
// (a bare repository, or someone's .git) rather than of a worktree.
func isBareRepo(dir string) bool {
	for _, p := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return false
		}
	}
	return true
}

// looksSCPLike reports whether s has the [user@]host:path form that Git
// reads as SSH. Windows drive letters ("C:\x") are not hosts.
func looksSCPLike(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return false
	}
	if slash := strings.IndexAny(s, `/\`); slash >= 0 && slash < colon {
		return false
	}
	return colon > 1
}

// loadError is the shape of every error Load returns:
// `load config repo "<source>": <what>: <cause>`, carrying code for
// meridian.ErrorCode and cause for errors.Is.
func loadError(source, code string, cause error, format string, args ...any) error {
	e := meridian.Errorf(code, format, args...)
	if cause == nil {
		return fmt.Errorf("load config repo %q: %w", source, e)
	}
	return fmt.Errorf("load config repo %q: %w: %w", source, e, cause)
}
