package ociimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// entry is one file, folder or symlink of a layer.
type entry struct {
	// Name is the absolute path in the image.
	Name string
	// Source is the host file whose content it holds, or "" for Data.
	Source string
	Data   []byte
	// Link is a symlink's target; Dir marks a folder.
	Link     string
	Dir      bool
	Mode     int64
	UID, GID int
}

// tree is the content of one layer, by path.
type tree map[string]entry

// add puts e in the tree, with its parent folders (root-owned, 0755) when
// they are not there yet.
func (t tree) add(e entry) {
	e.Name = path.Clean("/" + e.Name)
	for d := path.Dir(e.Name); d != "/"; d = path.Dir(d) {
		if _, ok := t[d]; !ok {
			t[d] = entry{Name: d, Dir: true, Mode: 0o755}
		}
	}
	t[e.Name] = e
}

// addHost copies a host file into the tree at the same path, following
// the symlinks on the way as the image must hold them: each link on the
// path becomes a link in the image too, and its target a regular file.
// Folders that are links on the host (Debian's /lib -> usr/lib) must be
// added as links beforehand (addHostDirLinks).
func (t tree) addHost(p string) error {
	for range 40 { // a symlink chain longer than this is a loop
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return fmt.Errorf("host file %s: %w", p, err)
		}
		p = filepath.Join(dir, filepath.Base(p))
		st, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("host file %s: %w", p, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if !st.Mode().IsRegular() {
				return fmt.Errorf("host file %s: not a regular file", p)
			}
			t.add(entry{Name: p, Source: p, Mode: int64(st.Mode().Perm())})
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("host file %s: %w", p, err)
		}
		t.add(entry{Name: p, Link: target, Mode: 0o777})
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		p = target
	}
	return fmt.Errorf("host file %s: too many levels of symbolic links", p)
}

// addHostDirLinks adds the top-level folders that are symlinks on the
// host (Debian 12 merges /bin, /sbin and /lib* into /usr), so that the
// paths the dynamic loader and ldd use resolve in the image as on the
// host.
func (t tree) addHostDirLinks() {
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		if st, err := os.Lstat(d); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(d); err == nil {
				t.add(entry{Name: d, Link: target, Mode: 0o777})
			}
		}
	}
}

// lddLine matches ldd's "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1
// (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// sharedLibs returns the shared libraries (and the dynamic loader) bin
// needs at run time, as ldd resolves them on this machine.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		// ldd fails on static binaries: they need nothing.
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, strings.TrimSpace(string(out)))
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("ldd %s: %s", bin, strings.TrimSpace(line))
		}
		if m := lddLine.FindStringSubmatch(line); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs, nil
}

// writeTar writes the tree as a tar stream, in path order, every entry
// with time mtime. Hard links are not used: each file is stored whole.
func (t tree) writeTar(w io.Writer, mtime time.Time) error {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, n := range names {
		e := t[n]
		h := &tar.Header{Name: strings.TrimPrefix(n, "/"), Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: mtime, Format: tar.FormatPAX}
		var body io.Reader
		switch {
		case e.Dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case e.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		case e.Source != "":
			if err := writeHostFile(tw, h, e.Source); err != nil {
				return fmt.Errorf("layer entry %s: %w", n, err)
			}
			continue
		default:
			h.Typeflag, h.Size, body = tar.TypeReg, int64(len(e.Data)), bytes.NewReader(e.Data)
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("layer entry %s: %w", n, err)
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return fmt.Errorf("layer entry %s: %w", n, err)
			}
		}
	}
	return tw.Close()
}

// writeHostFile writes the host file src under header h.
func writeHostFile(tw *tar.Writer, h *tar.Header, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h.Typeflag, h.Size = tar.TypeReg, st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	// A file that changes size while it is read would corrupt the stream:
	// copy exactly the size announced.
	_, err = io.CopyN(tw, f, st.Size())
	return err
}
