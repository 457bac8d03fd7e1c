package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// read returns p's content, or nil after recording a config error when p
// cannot be a config file: not a regular file, a link leading out of the
// repo, or larger than its cap. Nothing is read before the size is known,
// so a huge file costs a stat, not its size in memory.
func (l *loader) read(p string) ([]byte, error) {
	b, problem, err := readCapped(l.fsys, p, capFor(p))
	if err != nil {
		return nil, err
	}
	if problem != "" {
		l.add(p, 0, "", "%s", problem)
		return nil, nil
	}
	return b, nil
}

// readCapped reads p if it is a regular file of at most max bytes. problem
// says why not when it is the file's fault (a config error); err is
// anything else (I/O).
func readCapped(fsys fs.FS, p string, max meridian.ByteSize) (b []byte, problem string, err error) {
	if problem, _, err := statCapped(fsys, p, max); problem != "" || err != nil {
		return nil, problem, err
	}
	f, err := fsys.Open(p)
	if err != nil {
		if problem := fileProblem(err); problem != "" {
			return nil, problem, nil
		}
		return nil, "", fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	// Stat can be wrong (a file growing while read, an FS that does not
	// know sizes), so the read is capped as well.
	b, err = io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(b)) > int64(max) {
		return nil, fmt.Sprintf("file is larger than the %s cap", max), nil
	}
	return b, "", nil
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
	switch {
	case fi.IsDir():
		return "is a directory, not a file", false, nil
	case !fi.Mode().IsRegular():
		return "not a regular file (" + fi.Mode().Type().String() + ")", false, nil
	case fi.Size() > int64(max):
		return fmt.Sprintf("file is %s, over the %s cap", sizeOf(fi.Size()), max), true, nil
	}
	return "", false, nil
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
