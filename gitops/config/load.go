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
	"sort"
	"strconv"
	"strings"

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
	l := &loader{fsys: fsys, cfg: &meridian.Config{Settings: meridian.DefaultSettings(), Policies: map[string]string{}}}
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
	fsys fs.FS
	cfg  *meridian.Config
	errs meridian.ConfigErrors
}

func (l *loader) add(file string, line int, field, format string, args ...any) {
	l.errs = append(l.errs, meridian.ConfigError{File: file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) load() error {
	// A missing meridian.yaml means the defaults; one that cannot be read
	// (a link out of the repo, say) is reported by read like any file.
	if _, err := fs.Lstat(l.fsys, SettingsFile); err == nil {
		if err := l.file(SettingsFile, meridian.KindSettings); err != nil {
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
		for _, f := range files {
			if err := l.file(f, dir.kind); err != nil {
				return err
			}
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
			l.cfg.Policies[f] = string(b)
		}
	}
	if err := l.waivers(); err != nil {
		return err
	}
	l.validateSettings()
	l.validateTargets()
	l.validateWorkloads()
	return nil
}

// walk lists files below dir with one of the extensions, sorted. A missing
// directory is an empty list.
func (l *loader) walk(dir string, exts ...string) ([]string, error) {
	var out []string
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
				out = append(out, p)
				break
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(out)
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

// file parses every YAML document in p; each must declare apiVersion and the
// kind that belongs in its location.
func (l *loader) file(p, wantKind string) error {
	b, err := l.read(p)
	if err != nil || b == nil {
		return err
	}
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
	d := &decoder{file: p, errs: &l.errs, lines: origin.Lines}
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
