package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
)

// Well-known locations in a config repo.
const (
	SettingsFile = "meridian.yaml"
	TargetsDir   = "targets"
	WorkloadsDir = "workloads"
	PoliciesDir  = "policies"
)

// Load parses the config repo rooted at fsys. It returns *meridian.Config
// and, when anything is wrong, meridian.ConfigErrors listing every problem.
// Other errors (I/O) are returned as is.
func Load(fsys fs.FS) (*meridian.Config, error) {
	l := &loader{fsys: fsys, cfg: &meridian.Config{Settings: meridian.DefaultSettings(), Policies: map[string]string{}}, fields: &fieldCache{}}
	if err := l.load(); err != nil {
		return nil, err
	}
	if len(l.errs) > 0 {
		sortErrors(l.errs)
		return l.cfg, l.errs
	}
	return l.cfg, nil
}

type loader struct {
	fsys   fs.FS
	cfg    *meridian.Config
	errs   meridian.ConfigErrors
	fields *fieldCache
}

func (l *loader) add(file string, line int, field, format string, args ...any) {
	l.errs = append(l.errs, meridian.ConfigError{File: file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) load() error {
	// A missing meridian.yaml means the defaults; one that cannot be read
	// (a link out of the repo, say) is reported by read like any file.
	if _, err := fs.Lstat(l.fsys, SettingsFile); err == nil {
		if err := l.file(listed{path: SettingsFile}, meridian.KindSettings); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", SettingsFile, err)
	}
	for _, dir := range []struct{ name, kind string }{{TargetsDir, meridian.KindTarget}, {WorkloadsDir, meridian.KindWorkload}} {
		files, err := l.walk(dir.name, ".yaml", ".yml")
		if err != nil {
			return err
		}
		if err := l.files(files, dir.kind); err != nil {
			return err
		}
	}
	rego, err := l.walk(PoliciesDir, ".rego")
	if err != nil {
		return err
	}
	for _, f := range rego {
		b, err := l.read(f)
		if err != nil {
			return err
		}
		if b != nil {
			l.cfg.Policies[f.path] = string(b)
		}
	}
	if err := l.waivers(); err != nil {
		return err
	}
	l.validateSettings()
	if err := l.priceCatalog(); err != nil {
		return err
	}
	l.validateTargets()
	l.validateWorkloads()
	return nil
}

// listed is a file the walk found. regular says that the directory listing
// showed a regular file, not a link or anything else.
type listed struct {
	path    string
	regular bool
	// dir, if set, is the regular file's directory opened on its own (see
	// dirOpener), in which the file is opened without a stat first: of
	// 10,000 workload files, each stat is a walk of the path.
	dir fs.FS
}

// dirOpener is a file system that can open one of its directories as a
// file system of its own, in which an open resolves one name rather than
// a whole path. gitops' directory snapshots are, where each path
// component costs a few system calls.
type dirOpener interface {
	OpenDir(name string) (fs.FS, error)
}

// openDirs sets dir on the regular files among files, opening each
// directory once, when the loader's file system is a dirOpener. The files
// of a directory that does not open are read by path.
func (l *loader) openDirs(files []listed) {
	do, ok := l.fsys.(dirOpener)
	if !ok {
		return
	}
	dirs := map[string]fs.FS{}
	for q := range files {
		if !files[q].regular {
			continue
		}
		d := path.Dir(files[q].path)
		sub, seen := dirs[d]
		if !seen {
			sub, _ = do.OpenDir(d)
			dirs[d] = sub
		}
		files[q].dir = sub
	}
}

// walk lists files below dir with one of the extensions, sorted. A missing
// directory is an empty list.
func (l *loader) walk(dir string, exts ...string) ([]listed, error) {
	var out []listed
	err := fs.WalkDir(l.fsys, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		if e.IsDir() {
			if p != dir && strings.HasPrefix(e.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		for _, ext := range exts {
			if strings.HasSuffix(p, ext) && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, listed{path: p, regular: e.Type().IsRegular()})
				break
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	slices.SortFunc(out, func(a, b listed) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError is where and why a YAML file does not parse.
type yamlSyntaxError struct {
	line int // 0 when YAML does not say
	msg  string
}

// eachDocument calls fn with the root node of every non-empty YAML
// document in b, in order, and returns how many there were. A syntax error
// ends it, since the rest of b cannot be trusted, and is returned.
func eachDocument(b []byte, fn func(root *yaml.Node)) (int, *yamlSyntaxError) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	docs := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			line, msg := 0, err.Error()
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			return docs, &yamlSyntaxError{line: line, msg: strings.TrimPrefix(msg, "yaml: ")}
		}
		if len(doc.Content) == 0 {
			continue
		}
		docs++
		fn(doc.Content[0])
	}
}

// files parses the files ps, each holding documents of kind, on every
// core: a repo of 10,000 workloads is 10,000 small files, each read and
// parsed on its own. Each file gets a loader of its own; their entities
// and problems are then appended in file order, so that the result is
// the same as parsing one file after the other. The first I/O error, in
// file order, is returned.
func (l *loader) files(ps []listed, kind string) error {
	l.openDirs(ps)
	each := make([]loader, len(ps))
	errs := make([]error, len(ps))
	// A few long-lived workers rather than a goroutine per file: parsing
	// YAML takes a deep stack, which each new goroutine would grow anew.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ps)) {
		wg.Go(func() {
			for q := int(next.Add(1)) - 1; q < len(ps); q = int(next.Add(1)) - 1 {
				each[q] = loader{fsys: l.fsys, cfg: &meridian.Config{}, fields: l.fields}
				errs[q] = each[q].file(ps[q], kind)
			}
		})
	}
	wg.Wait()
	for q := range each {
		if errs[q] != nil {
			return errs[q]
		}
		l.cfg.Targets = append(l.cfg.Targets, each[q].cfg.Targets...)
		l.cfg.Workloads = append(l.cfg.Workloads, each[q].cfg.Workloads...)
		l.errs = append(l.errs, each[q].errs...)
	}
	return nil
}

// file parses every YAML document in p; each must declare apiVersion and the
// kind that belongs in its location.
func (l *loader) file(f listed, wantKind string) error {
	b, err := l.read(f)
	if err != nil || b == nil {
		return err
	}
	p := f.path
	docs, bad := eachDocument(b, func(root *yaml.Node) { l.document(p, root, wantKind) })
	if bad != nil {
		l.add(p, bad.line, "", "YAML syntax error: %s", bad.msg)
		return nil
	}
	if docs == 0 {
		l.add(p, 1, "", "empty file: expected a %s document", wantKind)
	}
	return nil
}

func (l *loader) document(p string, root *yaml.Node, wantKind string) {
	if root.Kind != yaml.MappingNode {
		l.add(p, root.Line, "", "a document must be a mapping, got %s", describe(root))
		return
	}
	header := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k == "apiVersion" || k == "kind" {
			header[k] = root.Content[i+1]
		}
	}
	ok := true
	switch v := header["apiVersion"]; {
	case v == nil:
		l.add(p, root.Line, "apiVersion", "required, must be %q", meridian.APIVersion)
		ok = false
	case v.Value != meridian.APIVersion:
		l.add(p, v.Line, "apiVersion", "must be %q, got %q", meridian.APIVersion, v.Value)
		ok = false
	}
	switch k := header["kind"]; {
	case k == nil:
		l.add(p, root.Line, "kind", "required, must be %q here", wantKind)
		return
	case k.Value != wantKind:
		l.add(p, k.Line, "kind", "must be %q in %s, got %q", wantKind, where(p), k.Value)
		return
	}
	if !ok {
		return
	}
	origin := meridian.Origin{File: p, Line: root.Line, Lines: map[string]int{}}
	d := &decoder{file: p, errs: &l.errs, lines: origin.Lines, fields: l.fields}
	skip := map[string]bool{"apiVersion": true, "kind": true}
	switch wantKind {
	case meridian.KindSettings:
		s := &l.cfg.Settings
		d.decode(root, reflect.ValueOf(s).Elem(), "", skip)
		s.Origin = origin
	case meridian.KindTarget:
		t := meridian.Target{Engine: meridian.EngineTerraform}
		d.decode(root, reflect.ValueOf(&t).Elem(), "", skip)
		t.Origin = origin
		l.cfg.Targets = append(l.cfg.Targets, t)
	case meridian.KindWorkload:
		w := meridian.Workload{}
		d.decode(root, reflect.ValueOf(&w).Elem(), "", skip)
		w.Origin = origin
		l.cfg.Workloads = append(l.cfg.Workloads, w)
	}
}

func where(p string) string {
	if p == SettingsFile {
		return p
	}
	return path.Dir(p) + "/"
}

func sortErrors(es meridian.ConfigErrors) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		if es[i].Field != es[j].Field {
			return es[i].Field < es[j].Field
		}
		return es[i].Message < es[j].Message
	})
}
