package gitops

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// testRepo is a real Git worktree in a temp dir, driven by the git CLI so
// that the index and objects are exactly what users' Git writes.
type testRepo struct {
	t   testing.TB
	dir string
}

// gitEnv isolates test repositories from the user's and system's Git
// config, and fixes identities.
var gitEnv = []string{
	"GIT_CONFIG_GLOBAL=/dev/null",
	"GIT_CONFIG_SYSTEM=/dev/null",
	"GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=Meridian Test",
	"GIT_AUTHOR_EMAIL=test@meridian.invalid",
	"GIT_COMMITTER_NAME=Meridian Test",
	"GIT_COMMITTER_EMAIL=test@meridian.invalid",
	"GIT_TERMINAL_PROMPT=0",
}

// runGit runs git in dir and returns its trimmed stdout.
func runGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Fatalf("these tests need the git CLI on PATH: %v", err)
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes an empty worktree repository on branch main.
func newRepo(tb testing.TB) *testRepo {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	runGit(tb, dir, "init", "-q", "-b", "main")
	return &testRepo{t: tb, dir: dir}
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.dir, args...)
}

// write creates or replaces files, given as path, content pairs.
func (r *testRepo) write(pathsAndContents ...string) {
	r.t.Helper()
	for i := 0; i < len(pathsAndContents); i += 2 {
		writeFile(r.t, filepath.Join(r.dir, pathsAndContents[i]), pathsAndContents[i+1])
	}
}

// commit stages everything and commits, returning the new HEAD.
func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.head()
}

func (r *testRepo) head() string {
	r.t.Helper()
	return r.git("rev-parse", "HEAD")
}

func (r *testRepo) path(p string) string { return filepath.Join(r.dir, p) }

// newBareRemote makes a bare repository that r pushes to as "origin".
func (r *testRepo) newBareRemote() string {
	r.t.Helper()
	bare := filepath.Join(r.t.TempDir(), "remote.git")
	runGit(r.t, filepath.Dir(bare), "init", "-q", "--bare", "-b", "main", bare)
	r.git("remote", "add", "origin", bare)
	return bare
}

// push sends every branch and tag to origin, forcing, as a CI job would.
func (r *testRepo) push() {
	r.t.Helper()
	r.git("push", "-q", "--force", "--all", "origin")
	r.git("push", "-q", "--force", "--tags", "origin")
}

func writeFile(tb testing.TB, name, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// readFS returns a file of a snapshot, or the error text.
func readFS(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// errorCode is the meridian code of err, "" for nil.
func errorCode(err error) string { return meridian.ErrorCode(err) }

// testOptions returns Options with a private cache and a logger that
// writes into log, so tests can check that no secret is logged.
func testOptions(tb testing.TB, log *bytes.Buffer) Options {
	if log == nil {
		log = new(bytes.Buffer)
	}
	return Options{
		CacheDir: filepath.Join(tb.TempDir(), "cache"),
		Logger:   slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Auth:     AuthOptions{Getenv: func(string) string { return "" }},
	}
}

// mustLoad loads and fails the test on error.
func mustLoad(tb testing.TB, source, ref string, opts Options) *Snapshot {
	tb.Helper()
	s, err := Load(context.Background(), source, ref, opts)
	if err != nil {
		tb.Fatalf("Load(%q, %q): %v", source, ref, err)
	}
	return s
}

// packs lists the pack files of a mirror.
func packs(tb testing.TB, mirror string) []string {
	tb.Helper()
	ps, err := filepath.Glob(filepath.Join(mirror, "objects", "pack", "*.pack"))
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// mirrors lists the mirror repositories in a cache dir.
func mirrors(tb testing.TB, cacheDir string) []string {
	tb.Helper()
	ms, err := filepath.Glob(filepath.Join(cacheDir, "*.git"))
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

func isCode(err error, code string) bool {
	var e *meridian.Error
	return errors.As(err, &e) && e.Code == code
}

// runGitStdin is runGit with input on stdin.
func runGitStdin(tb testing.TB, dir string, stdin []byte, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
