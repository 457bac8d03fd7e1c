package terraform

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Sandbox makes a Runner start Terraform as another, unprivileged user.
// Pull-request heads run Terraform modules written by anyone who may open
// a pull request on an allowlisted repository; as the server's own user
// such a module could read /proc/<server>/environ, the store and every
// file the server can. As another user, the kernel keeps all of that out
// of its reach.
//
// Terraform cannot be started with other credentials through
// terraform-exec, which sets its own SysProcAttr, so the Runner starts a
// small root-owned wrapper that drops to the user with setpriv(1) and
// then runs a copy of the binary.
type Sandbox struct {
	// UID and GID are the user and group Terraform runs as.
	UID, GID int
	// BinDir receives the wrapper and the copy of the binary. It must not
	// be writable by UID (the server runs what is in it): New creates it
	// owned by the server, mode 0755.
	BinDir string
	// WorkDir is the one folder the sandboxed Terraform may write: its
	// workspaces, plan files, plugin cache, HOME and TMPDIR all live below
	// it. It is handed to UID before every Terraform command. Every folder
	// above it must be searchable by UID.
	WorkDir string
}

// wrapper is the script the sandboxed Runner starts instead of Terraform.
const wrapper = `#!/bin/sh
# Written by Meridian: run Terraform as an unprivileged user.
exec %s --reuid=%d --regid=%d --clear-groups --no-new-privs -- %s "$@"
`

// prepare installs the wrapper and the binary copy, creates the work
// folder, and returns the path to start.
func (s *Sandbox) prepare(binary string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return "", fmt.Errorf("sandboxed Terraform needs setpriv (Debian package util-linux): %w", err)
	}
	if err := os.MkdirAll(s.BinDir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox bin dir: %w", err)
	}
	if err := os.Chmod(s.BinDir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox bin dir: %w", err)
	}
	bin := filepath.Join(s.BinDir, "terraform")
	if err := copyExecutable(binary, bin); err != nil {
		return "", fmt.Errorf("copy terraform into the sandbox: %w", err)
	}
	script := filepath.Join(s.BinDir, "terraform-sandboxed")
	if err := os.WriteFile(script+".tmp", fmt.Appendf(nil, wrapper, shellQuote(setpriv), s.UID, s.GID, shellQuote(bin)), 0o755); err != nil {
		return "", fmt.Errorf("sandbox wrapper: %w", err)
	}
	if err := os.Rename(script+".tmp", script); err != nil {
		return "", fmt.Errorf("sandbox wrapper: %w", err)
	}
	for _, d := range []string{s.WorkDir, s.home(), s.tmp()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("sandbox work dir: %w", err)
		}
	}
	return script, s.handOver(s.WorkDir)
}

func (s *Sandbox) home() string { return filepath.Join(s.WorkDir, "home") }
func (s *Sandbox) tmp() string  { return filepath.Join(s.WorkDir, "tmp") }

// env points HOME and TMPDIR into the work folder.
func (s *Sandbox) env(env map[string]string) {
	env["HOME"], env["TMPDIR"] = s.home(), s.tmp()
}

// handOver gives dir, a folder inside the work folder, to the sandbox
// user, with the folders above it: the server writes module files,
// variables and plan folders there as itself, and Terraform must be able
// to reach, read and write them. Only dir's subtree is walked, so a
// command costs the size of its own workspace, not of every workspace.
// The walk goes through os.Root, so a symlink the sandboxed user planted
// can never lead it, or the chown, outside the work folder.
func (s *Sandbox) handOver(dir string) error {
	rel, err := filepath.Rel(s.WorkDir, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("sandbox: %s is outside the work folder %s", dir, s.WorkDir)
	}
	root, err := os.OpenRoot(s.WorkDir)
	if err != nil {
		return fmt.Errorf("sandbox work dir: %w", err)
	}
	defer root.Close()
	rel = filepath.ToSlash(rel)
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if err := root.Lchown(p, s.UID, s.GID); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", p, s.UID, err)
		}
	}
	return fs.WalkDir(root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := root.Lchown(p, s.UID, s.GID); err != nil {
			return fmt.Errorf("hand %s to uid %d: %w", p, s.UID, err)
		}
		return nil
	})
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// copyExecutable puts src at dst for the sandbox user, whose search rights
// stop at the server's HOME: a hard link where the file system allows it
// (instant, and the binary is already world-executable), a copy otherwise.
func copyExecutable(src, dst string) error {
	if st, err := os.Stat(src); err == nil && st.Mode().Perm()&0o005 == 0o005 {
		os.Remove(dst)
		if os.Link(src, dst) == nil {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp" + strconv.Itoa(os.Getpid())
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
