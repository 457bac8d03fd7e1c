package config

import (
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
)

// DecodeDocument decodes file p, which must hold exactly one YAML document
// declaring apiVersion meridian/v1 and the given kind, into v (a pointer
// to a struct whose json tags are the field names), the way the loader
// decodes meridian.yaml: unknown and duplicate fields are errors, a
// duration must be positive, and every problem is a ConfigError naming p,
// the line and the dotted field. It exists so that config files read
// apart from the repo walk (alerting.yaml) share the loader's rules and
// messages. The returned Origin maps every field to its line; problems
// are all reported together, in file order.
func DecodeDocument(p string, b []byte, kind string, v any) (meridian.Origin, meridian.ConfigErrors) {
	origin := meridian.Origin{File: p, Line: 1, Lines: map[string]int{}}
	var errs meridian.ConfigErrors
	add := func(line int, field, format string, args ...any) {
		errs = append(errs, meridian.ConfigError{File: p, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		add(0, "", "internal error: cannot decode into %T", v)
		return origin, errs
	}
	seen := 0
	docs, bad := eachDocument(b, func(root *yaml.Node) {
		if seen++; seen > 1 {
			add(root.Line, "", "expected one %s document, found another", kind)
			return
		}
		origin.Line = root.Line
		if root.Kind != yaml.MappingNode {
			add(root.Line, "", "a document must be a mapping, got %s", describe(root))
			return
		}
		header := map[string]*yaml.Node{}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i].Value; k == "apiVersion" || k == "kind" {
				header[k] = root.Content[i+1]
			}
		}
		switch a := header["apiVersion"]; {
		case a == nil:
			add(root.Line, "apiVersion", "required, must be %q", meridian.APIVersion)
		case a.Value != meridian.APIVersion:
			add(a.Line, "apiVersion", "must be %q, got %q", meridian.APIVersion, a.Value)
		}
		switch k := header["kind"]; {
		case k == nil:
			add(root.Line, "kind", "required, must be %q", kind)
			return
		case k.Value != kind:
			add(k.Line, "kind", "must be %q, got %q", kind, k.Value)
			return
		}
		d := &decoder{file: p, errs: &errs, lines: origin.Lines}
		d.decode(root, rv.Elem(), "", map[string]bool{"apiVersion": true, "kind": true})
	})
	if bad != nil {
		add(bad.line, "", "YAML syntax error: %s", bad.msg)
		return origin, errs
	}
	if docs == 0 {
		add(1, "", "empty file: expected a %s document", kind)
	}
	sortErrors(errs)
	return origin, errs
}
