package serveconfig

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// serveOnlyFlags are flags the file and the environment do not set: they
// say where the file is, or what to do instead of serving.
var serveOnlyFlags = map[string]bool{"config": true, "print-config": true, "help": true}

// envOverrides are the variables of flags whose derived name would clash
// with a variable that already meant something else.
var envOverrides = map[string]string{
	"terraform-bin": "MERIDIAN_TERRAFORM",      // the binary, as every command reads it
	"terraform":     "MERIDIAN_TERRAFORM_MODE", // auto, true or false
}

// anySecret is where a secret goes when the caller names no better place.
const anySecret = "a *_file setting or the environment"

// secretNames are keys refused as secrets whatever the caller says, besides
// any key ending in -password, -secret or -token.
var secretNames = map[string]bool{"token": true, "password": true, "secret": true}

// Setting reports whether the flag name is a setting, one the file and the
// environment may set: every flag but --config, --print-config and --help.
func Setting(name string) bool { return !serveOnlyFlags[name] }

// EnvVar is the environment variable of a serve flag: MERIDIAN_ and the
// flag's name in upper snake case, but for the flags whose derived name
// already meant something else (--terraform-bin is MERIDIAN_TERRAFORM).
func EnvVar(name string) string {
	if e, ok := envOverrides[name]; ok {
		return e
	}
	return "MERIDIAN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// fileKey is the flag name a file key means: keys are the flag names in
// snake_case or kebab-case.
func fileKey(k string) string { return strings.ReplaceAll(k, "_", "-") }

// value is one setting read from the file.
type value struct {
	line   int
	scalar string
	list   []string
	isList bool
}

// File is a parsed configuration file: the settings it holds, each
// checked against the flag it sets.
type File struct {
	path   string
	values map[string]value // by flag name
}

// Source is where f sets the flag name, as "path:line", or "" when it does
// not (or f is nil: no file).
func (f *File) Source(name string) string {
	if f == nil {
		return ""
	}
	v, ok := f.values[name]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s:%d", f.path, v.line)
}

// Parse parses the configuration file at path, whose contents are data,
// against fs, a scratch copy of serve's flags on which it checks each value
// by setting it. secrets maps keys that hold a secret (by flag name:
// "webhook-secret") to where that secret goes instead; keys named token,
// password or secret, or ending in -token, -password or -secret, are
// refused as secrets too.
//
// Errors name the file, the line and the key: unknown keys, values of the
// wrong shape or that the flag refuses, duplicate keys, and secrets, which
// never belong in a file. All of them are returned at once.
func Parse(path string, data []byte, fs *pflag.FlagSet, secrets map[string]string) (*File, error) {
	out := &File{path: path, values: map[string]value{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return out, nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the file must be a mapping of settings (key: value), got %s", path, root.Line, kindName(root))
	}
	var errs []error
	fail := func(n *yaml.Node, key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", path, n.Line, key, fmt.Sprintf(format, args...)))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			fail(kn, "(key)", "keys must be plain names, got %s", kindName(kn))
			continue
		}
		key, name := kn.Value, fileKey(kn.Value)
		if where, ok := secretWhere(name, secrets); ok {
			fail(kn, key, "secrets are never read from the configuration file: use %s", where)
			continue
		}
		f := fs.Lookup(name)
		if f == nil || !Setting(name) {
			fail(kn, key, "unknown setting (the settings are serve's flags: meridian serve --help)")
			continue
		}
		if _, dup := out.values[name]; dup {
			fail(kn, key, "set twice")
			continue
		}
		v := value{line: kn.Line}
		_, isSlice := f.Value.(pflag.SliceValue)
		switch {
		case vn.Kind == yaml.SequenceNode && isSlice:
			v.isList, v.list = true, []string{}
			for _, item := range vn.Content {
				if item.Kind != yaml.ScalarNode {
					fail(item, key, "list items must be plain values, got %s", kindName(item))
					continue
				}
				v.list = append(v.list, item.Value)
			}
		case vn.Kind == yaml.ScalarNode && vn.Tag != "!!null":
			v.scalar = vn.Value
		default:
			want := "a plain value"
			if isSlice {
				want = "a list or a comma-separated value"
			}
			fail(vn, key, "want %s, got %s", want, kindName(vn))
			continue
		}
		if err := checkNoSecret(name, v); err != nil {
			fail(vn, key, "%v", err)
			continue
		}
		// The value must be one the flag accepts: fs is a scratch copy
		// of serve's flags, set here only to check it.
		if err := setFlag(f, v); err != nil {
			fail(vn, key, "%v", err)
			continue
		}
		out.values[name] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// secretWhere reports whether the key name holds a secret, and where that
// secret goes instead.
func secretWhere(name string, secrets map[string]string) (string, bool) {
	if where, ok := secrets[name]; ok {
		return where, true
	}
	if secretNames[name] || strings.HasSuffix(name, "-password") || strings.HasSuffix(name, "-secret") || strings.HasSuffix(name, "-token") {
		return anySecret, true
	}
	return "", false
}

// checkNoSecret refuses values that carry a credential: a URL with a
// password (a postgres:// store URL, an API URL with userinfo).
func checkNoSecret(name string, v value) error {
	vals := v.list
	if !v.isList {
		vals = []string{v.scalar}
	}
	for _, s := range vals {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			continue
		}
		if _, hasPw := u.User.Password(); hasPw {
			hint := "put the whole URL in $" + EnvVar(name)
			if name == "db" {
				hint += ", or keep the password in $PGPASSWORD or a passfile ($PGPASSFILE)"
			}
			return fmt.Errorf("the URL carries a password, and secrets are never read from the configuration file: %s", hint)
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing (null)"
	}
	return fmt.Sprintf("%q", n.Value)
}
