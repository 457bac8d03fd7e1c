package policies

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// pathSet is the set of paths of one input document (input.workload or
// input.target) that a rule package can observe. A path ends where a
// reference stops being a chain of constant string keys, so
// input.workload.tags[k] records tags, and everything below a recorded path
// is kept.
type pathSet struct {
	// all means the whole subtree is observed.
	all  bool
	next map[string]*pathSet
	// keys are the keys of next, sorted.
	keys []string
}

func (p *pathSet) add(path []string) {
	if p.all {
		return
	}
	if len(path) == 0 {
		p.all, p.next, p.keys = true, nil, nil
		return
	}
	if p.next == nil {
		p.next = map[string]*pathSet{}
	}
	child, ok := p.next[path[0]]
	if !ok {
		child = &pathSet{}
		p.next[path[0]] = child
		i, _ := slices.BinarySearch(p.keys, path[0])
		p.keys = slices.Insert(p.keys, i, path[0])
	}
	child.add(path[1:])
}

// project returns the part of the JSON document v that the paths can
// observe. Two documents with equal projections are indistinguishable to
// the rules, which is what lets CheckPlacements evaluate them once.
func (p *pathSet) project(v any) any {
	if p.all {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		// Keys below a non-object are undefined whatever they are; keeping
		// the value whole is always safe.
		return v
	}
	out := make(map[string]any, len(p.next))
	for k, child := range p.next {
		if cv, ok := m[k]; ok {
			out[k] = child.project(cv)
		}
	}
	return out
}

// appendKey appends to buf an encoding of v's projection that is equal for
// two documents exactly when their projections are: it is what classify
// deduplicates on, without building projections it has already seen.
func (p *pathSet) appendKey(buf []byte, v any) []byte {
	m, ok := v.(map[string]any)
	if p.all || !ok {
		return appendCanonical(buf, v)
	}
	buf = append(buf, '{')
	for _, k := range p.keys {
		if cv, ok := m[k]; ok {
			buf = strconv.AppendQuote(buf, k)
			buf = append(buf, ':')
			buf = p.next[k].appendKey(buf, cv)
			buf = append(buf, ',')
		}
	}
	return append(buf, '}')
}

// appendCanonical appends an injective encoding of a decoded JSON value,
// with object keys sorted. Numbers keep their JSON text, so 1 and 1.0 get
// different keys: that only costs a duplicate evaluation, never a wrong
// answer.
func appendCanonical(buf []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		return strconv.AppendBool(buf, v)
	case string:
		return strconv.AppendQuote(buf, v)
	case json.Number:
		return append(buf, v...)
	case []any:
		buf = append(buf, '[')
		for _, e := range v {
			buf = appendCanonical(buf, e)
			buf = append(buf, ',')
		}
		return append(buf, ']')
	case map[string]any:
		buf = append(buf, '{')
		for _, k := range slices.Sorted(maps.Keys(v)) {
			buf = strconv.AppendQuote(buf, k)
			buf = append(buf, ':')
			buf = appendCanonical(buf, v[k])
			buf = append(buf, ',')
		}
		return append(buf, '}')
	}
	// Documents come from encoding/json with UseNumber, so nothing else
	// occurs; fmt keeps the encoding total all the same.
	return fmt.Appendf(buf, "%T(%#v)", v, v)
}

// paths lists the observed paths, dotted and sorted, "" meaning the whole
// document; for tests and debugging.
func (p *pathSet) paths() []string {
	var out []string
	var walk func(prefix string, p *pathSet)
	walk = func(prefix string, p *pathSet) {
		if p.all {
			out = append(out, prefix)
			return
		}
		for k, c := range p.next {
			walk(strings.TrimPrefix(prefix+"."+k, "."), c)
		}
	}
	walk("", p)
	slices.Sort(out)
	return out
}

// inputPaths returns what rules in mods can observe of input.workload and
// input.target. A reference to input itself, or input[x], observes both
// whole.
func inputPaths(mods []*ast.Module) (workload, target *pathSet) {
	workload, target = &pathSet{}, &pathSet{}
	for _, m := range mods {
		walkInputRefs(m, func(ref ast.Ref, _ *ast.Location) {
			if len(ref) == 1 {
				workload.add(nil)
				target.add(nil)
				return
			}
			var path []string
			for _, t := range ref[2:] {
				path = append(path, string(t.Value.(ast.String)))
			}
			switch ref[1].Value {
			case ast.String("workload"):
				workload.add(path)
			case ast.String("target"):
				target.add(path)
			}
		})
	}
	return workload, target
}

// walkInputRefs calls fn for every reference to input in the rules of m,
// cut at its first key that is not a constant string:
// input.workload.tags[k] is reported as input.workload.tags, and a bare
// input as input. Run it on compiled modules, where imports and aliases
// have been resolved into full references; the imports themselves are
// skipped, as an unused import observes nothing.
func walkInputRefs(m *ast.Module, fn func(ref ast.Ref, loc *ast.Location)) {
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		t, ok := x.(*ast.Term)
		if !ok {
			return false
		}
		switch v := t.Value.(type) {
		case ast.Var:
			if v.Equal(ast.InputRootDocument.Value) {
				fn(ast.InputRootRef, t.Location)
				return true
			}
		case ast.Ref:
			if !v.HasPrefix(ast.InputRootRef) {
				return false
			}
			fn(v.StringPrefix(), t.Location)
			// Keys may themselves refer to input: input.a[input.b].
			for _, k := range v[1:] {
				vis.Walk(k)
			}
			return true
		}
		return false
	})
	for _, r := range m.Rules {
		vis.Walk(r)
	}
}

// dependencies returns the modules that rules in pkg can reach: the
// package's own modules and, transitively, every module whose package a
// data reference could resolve into. A reference like data.meridian.org[x]
// reaches every package below data.meridian.org.
func dependencies(c *ast.Compiler, pkg ast.Ref) []*ast.Module {
	paths := sortedKeys(c.Modules)
	seen := map[string]bool{}
	var out []*ast.Module
	var queue []ast.Ref
	visit := func(path string) {
		m := c.Modules[path]
		seen[path] = true
		out = append(out, m)
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(ast.DefaultRootRef) {
				queue = append(queue, r.StringPrefix())
			}
			return false
		})
	}
	for _, path := range paths {
		if c.Modules[path].Package.Path.Equal(pkg) {
			visit(path)
		}
	}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		for _, path := range paths {
			p := c.Modules[path].Package.Path
			if !seen[path] && (p.HasPrefix(ref) || ref.HasPrefix(p)) {
				visit(path)
			}
		}
	}
	return out
}
