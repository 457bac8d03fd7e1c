package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/meridianhq/meridian"
)

// capFor is the size cap of a config file, by kind: policies are code
// written by hand; YAML may be generated (one file can hold thousands of
// workloads).
func capFor(p string) meridian.ByteSize {
	if strings.HasSuffix(p, ".rego") {
		return meridian.MaxRegoBytes
	}
	return meridian.MaxYAMLBytes
}

// read returns f's content, or nil after recording a config error when f
// cannot be a config file: not a regular file, a link leading out of the
// repo, or larger than its cap. Nothing is read before the size is known,
// so a huge file costs a stat, not its size in memory.
func (l *loader) read(f listed) ([]byte, error) {
	fsys, name := l.fsys, f.path
	if f.dir != nil {
		fsys, name = f.dir, path.Base(f.path)
	}
	// Only a directory's own file system is known to open a file without
	// reading it: others (a Git tree) may read it whole on Open, so they
	// are asked its size first.
	b, problem, err := readCapped(fsys, name, f.path, capFor(f.path), f.dir != nil)
	if err != nil {
		return nil, err
	}
	if problem != "" {
		l.add(f.path, 0, "", "%s", problem)
		return nil, nil
	}
	return b, nil
}

// readCapped reads name in fsys, the repo's file p, if it is a regular
// file of at most max bytes. problem says why not when it is the file's
// fault (a config error); err is anything else (I/O). Unless the caller
// knows that it is a regular file which fsys opens without reading it
// (opened), it is checked before it is opened, as opening a FIFO would
// block and opening a blob reads it; either way the open file is checked
// again before it is read.
func readCapped(fsys fs.FS, name, p string, max meridian.ByteSize, opened bool) (b []byte, problem string, err error) {
	if !opened {
		if problem, _, err := statCapped(fsys, name, max); problem != "" || err != nil {
			return nil, problem, err
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		if problem := fileProblem(err); problem != "" {
			return nil, problem, nil
		}
		return nil, "", fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", fmt.Errorf("stat %s: %w", p, err)
	}
	if problem, _ := capProblem(fi, max); problem != "" {
		return nil, problem, nil
	}
	// Stat can be wrong (a file growing while read, an FS that does not
	// know sizes), so the read is capped as well.
	buf := bytes.NewBuffer(make([]byte, 0, min(fi.Size(), int64(max))+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, int64(max)+1)); err != nil {
		return nil, "", fmt.Errorf("read %s: %w", p, err)
	}
	if int64(buf.Len()) > int64(max) {
		return nil, fmt.Sprintf("file is larger than the %s cap", max), nil
	}
	return buf.Bytes(), "", nil
}

// statCapped checks, without reading it, that p is a regular file of at
// most max bytes; see readCapped for problem and err. tooBig says that
// the problem is the size.
func statCapped(fsys fs.FS, p string, max meridian.ByteSize) (problem string, tooBig bool, err error) {
	fi, err := fs.Stat(fsys, p)
	if err != nil {
		if problem := fileProblem(err); problem != "" {
			return problem, false, nil
		}
		return "", false, fmt.Errorf("stat %s: %w", p, err)
	}
	problem, tooBig = capProblem(fi, max)
	return problem, tooBig, nil
}

// capProblem says why fi cannot be a config file of at most max bytes, if
// it cannot; tooBig says that the problem is the size.
func capProblem(fi fs.FileInfo, max meridian.ByteSize) (problem string, tooBig bool) {
	switch {
	case fi.IsDir():
		return "is a directory, not a file", false
	case !fi.Mode().IsRegular():
		return "not a regular file (" + fi.Mode().Type().String() + ")", false
	case fi.Size() > int64(max):
		return fmt.Sprintf("file is %s, over the %s cap", sizeOf(fi.Size()), max), true
	}
	return "", false
}

// fileProblem turns an error opening or statting a file the repo lists
// into the config problem it is: a link that leads out of the repo or in a
// loop, or to a device (gitops reports these as EINVALID), a dangling link,
// or a file the server may not read. Other errors (I/O) give "". The
// message never holds a link's target or anything read through it.
func fileProblem(err error) string {
	var me *meridian.Error
	switch {
	case errors.As(err, &me) && me.Code == meridian.EINVALID:
		return "cannot read: " + me.Message
	case errors.Is(err, fs.ErrNotExist):
		return "cannot read: symbolic link to a file that does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "cannot read: permission denied"
	case errors.Is(err, fs.ErrInvalid):
		return "cannot read: invalid path"
	}
	return ""
}

// sizeOf renders a file size exactly and, when large, in MiB too.
func sizeOf(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
}
