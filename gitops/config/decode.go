package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
)

// decoder maps YAML nodes onto domain structs by their json tags, which are
// the config's field names. It never stops at the first problem.
type decoder struct {
	file  string
	errs  *meridian.ConfigErrors
	lines map[string]int
	// fields, if set, caches structFields across decoders: a repo of
	// 10,000 workloads decodes the same few struct types 10,000 times.
	fields *fieldCache
}

// fieldCache maps a struct type to its config field names and indices. It
// is safe for concurrent use.
type fieldCache struct{ m sync.Map }

// structFields returns the config field names of struct type t, mapped to
// their field indices.
func (d *decoder) structFields(t reflect.Type) map[string]int {
	if d.fields != nil {
		if f, ok := d.fields.m.Load(t); ok {
			return f.(map[string]int)
		}
	}
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := fieldName(t.Field(i)); name != "" {
			fields[name] = i
		}
	}
	if d.fields != nil {
		d.fields.m.Store(t, fields)
	}
	return fields
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	*d.errs = append(*d.errs, meridian.ConfigError{File: d.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

var (
	byteSizeType  = reflect.TypeFor[meridian.ByteSize]()
	durationType  = reflect.TypeFor[time.Duration]()
	unmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	originType    = reflect.TypeFor[meridian.Origin]()
)

// fieldName returns the config name of a struct field, or "" when the field
// is not part of the config (json:"-" or an Origin).
func fieldName(f reflect.StructField) string {
	if f.Type == originType || !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// decode fills v from n. skip lists top-level keys (apiVersion, kind) that
// the caller handles itself.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, skip map[string]bool) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an explicit null leaves the default
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	t := v.Type()
	// A struct with a text form (a port spec) is also read from a scalar.
	if reflect.PointerTo(t).Implements(unmarshalType) && (t.Kind() != reflect.Struct || n.Kind == yaml.ScalarNode) {
		d.text(n, v, path)
		return
	}
	switch {
	case t == durationType:
		s, ok := d.scalar(n, path, "!!str", "a duration such as 4h or 30m")
		if !ok {
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur <= 0 {
			d.errorf(n, path, "must be a positive duration such as 4h or 30m, got %q", s)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == byteSizeType:
		d.byteSize(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, skip)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path, nil)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "!!str", "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "!!bool", "true or false"); ok {
			b, _ := strconv.ParseBool(strings.ToLower(s))
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.scalar(n, path, "!!int", "an integer"); ok {
			i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
			if err != nil {
				d.errorf(n, path, "must be an integer, got %q", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
			d.number(n, v, path)
			return
		}
		if _, ok := d.scalar(n, path, "!!float", "a number"); ok {
			d.number(n, v, path)
		}
	default:
		d.errorf(n, path, "unsupported field type %s", t)
	}
}

// byteSize reads a size: an integer number of bytes, or a string with a
// unit (64MB).
func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, path string) {
	const want = "a size such as 64MB or a number of bytes"
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		d.errorf(n, path, "must be %s, got %s", want, describe(n))
		return
	}
	b, err := parseByteSize(n.Value)
	if err != nil {
		d.errorf(n, path, "must be %s, got %q", want, n.Value)
		return
	}
	v.SetInt(b)
}

// byteUnits are the units a size may carry, as powers of 1024.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
}

// parseByteSize reads "123", "512KB", "64 MiB", "1gb". Units are powers of
// 1024 and case-insensitive; the number is a whole number.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	if i == 0 {
		return 0, fmt.Errorf("no number in %q", s)
	}
	mult, ok := byteUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, fmt.Errorf("unknown unit in %q", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

func (d *decoder) number(n *yaml.Node, v reflect.Value, path string) {
	var f float64
	if err := n.Decode(&f); err != nil {
		d.errorf(n, path, "must be a number, got %q", n.Value)
		return
	}
	v.SetFloat(f)
}

// scalar checks that n is a scalar with the wanted tag and returns its value.
func (d *decoder) scalar(n *yaml.Node, path, tag, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "must be %s, got a %s", want, kindName(n))
		return "", false
	}
	if n.ShortTag() != tag {
		d.errorf(n, path, "must be %s, got %q", want, n.Value)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) text(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "!!str", "a string")
	if !ok {
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.errorf(n, path, "%v", err)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, skip map[string]bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, got %s", describe(n))
		return
	}
	fields := d.structFields(v.Type())
	var seen []string // a mapping has a few keys: a list beats a map
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be strings")
			continue
		}
		name := k.Value
		if skip[name] {
			continue
		}
		fp := join(path, name)
		if slices.Contains(seen, name) {
			d.errorf(k, fp, "duplicate field")
			continue
		}
		seen = append(seen, name)
		idx, ok := fields[name]
		if !ok {
			d.errorf(k, fp, "unknown field%s", suggest(name, fields))
			continue
		}
		d.decode(val, v.Field(idx), fp, nil)
		// A field's line is its key's, not its value's (which decode
		// records, and which is on the next line for blocks).
		d.lines[fp] = k.Line
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.errorf(n, path, "unsupported map key type %s", t.Key())
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "keys must be strings")
			continue
		}
		fp := join(path, k.Value)
		if v.MapIndex(reflect.ValueOf(k.Value).Convert(t.Key())).IsValid() {
			d.errorf(k, fp, "duplicate key")
			continue
		}
		elem := reflect.New(t.Elem()).Elem()
		if t.Elem().Kind() == reflect.String {
			// Label and tag values are strings even when YAML reads them
			// as numbers or booleans (cost-center: 4711).
			for val.Kind == yaml.AliasNode {
				val = val.Alias
			}
			if val.Kind != yaml.ScalarNode || val.ShortTag() == "!!null" {
				d.errorf(val, fp, "must be a string, got %s", describe(val))
				continue
			}
			elem.SetString(val.Value)
		} else {
			d.decode(val, elem, fp, nil)
		}
		d.lines[fp] = k.Line
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s.%d", path, i), nil)
	}
	v.Set(s)
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return "a " + kindName(n)
}

// suggest names the closest known field, to catch typos such as
// "log_retention_day".
func suggest(name string, fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, f := range names {
		if dist := levenshtein(name, f); dist < bestD {
			best, bestD = f, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
