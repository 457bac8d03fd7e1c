package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store/postgres"
)

// The server configuration file (docs/server.md, "Configuration file")
// holds serve's flags by name, so a flag added to serve is a file key and
// an environment variable at once. Precedence: flags > MERIDIAN_* > file >
// defaults.

// serveOnlyFlags are flags the file and the environment do not set: they
// say where the file is, or what to do instead of serving.
var serveOnlyFlags = map[string]bool{"config": true, "print-config": true, "help": true}

// envOverrides are the variables of flags whose derived name would clash
// with a variable that already meant something else.
var envOverrides = map[string]string{
	"terraform-bin": "MERIDIAN_TERRAFORM",      // the binary, as every command reads it
	"terraform":     "MERIDIAN_TERRAFORM_MODE", // auto, true or false
}

// secretKeys are keys a config file may not hold, with where the secret
// goes instead.
var secretKeys = map[string]string{
	"webhook-secret": "webhook_secret_file or $" + envWebhookSecret,
	"github-token":   "github_token_file or $" + envGitHubToken,
	"git-token":      "git_token_file or $" + gitops.DefaultTokenEnv,
	"token":          "a *_file setting or the environment",
	"password":       "a *_file setting or the environment",
	"secret":         "a *_file setting or the environment",
}

// flagEnv is the environment variable of a serve flag: MERIDIAN_ and the
// flag's name in upper snake case.
func flagEnv(name string) string {
	if e, ok := envOverrides[name]; ok {
		return e
	}
	return "MERIDIAN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// fileKey is the flag name a file key means: keys are the flag names in
// snake_case or kebab-case.
func fileKey(k string) string { return strings.ReplaceAll(k, "_", "-") }

// configValue is one setting read from the file.
type configValue struct {
	line   int
	scalar string
	list   []string
	isList bool
}

// serveFile is a parsed configuration file: flag name -> value.
type serveFile struct {
	path   string
	values map[string]configValue
}

// parseServeConfig parses a configuration file against fs, a scratch
// copy of serve's flags (newServeFlags), on which it checks each value.
// Errors name the file, the line and the key: unknown keys, values of the
// wrong shape, duplicate keys, and secrets, which never belong in a file.
func parseServeConfig(path string, data []byte, fs *pflag.FlagSet) (*serveFile, error) {
	out := &serveFile{path: path, values: map[string]configValue{}}
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
		if where, ok := secretKeys[name]; ok || strings.HasSuffix(name, "-password") || strings.HasSuffix(name, "-secret") || strings.HasSuffix(name, "-token") {
			if !ok {
				where = "a *_file setting or the environment"
			}
			fail(kn, key, "secrets are never read from the configuration file: use %s", where)
			continue
		}
		f := fs.Lookup(name)
		if f == nil || serveOnlyFlags[name] {
			fail(kn, key, "unknown setting (the settings are serve's flags: meridian serve --help)")
			continue
		}
		if _, dup := out.values[name]; dup {
			fail(kn, key, "set twice")
			continue
		}
		v := configValue{line: kn.Line}
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

// checkNoSecret refuses values that carry a credential: a URL with a
// password (a postgres:// store URL, an API URL with userinfo).
func checkNoSecret(name string, v configValue) error {
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
			hint := "put the whole URL in $" + flagEnv(name)
			if name == "db" {
				hint += ", or keep the password in $PGPASSWORD or a passfile ($PGPASSFILE)"
			}
			return fmt.Errorf("the URL carries a password, and secrets are never read from the configuration file: %s", hint)
		}
	}
	return nil
}

// applyServeConfig sets every flag of fs that was not given on the command
// line from its environment variable, else from the file (nil: none).
func applyServeConfig(fs *pflag.FlagSet, file *serveFile, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || serveOnlyFlags[f.Name] {
			return
		}
		env := flagEnv(f.Name)
		if s := getenv(env); s != "" {
			if err := setFlag(f, configValue{scalar: s}); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", env, err))
			}
			return
		}
		if file == nil {
			return
		}
		if v, ok := file.values[f.Name]; ok {
			if err := setFlag(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file.path, v.line, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// setFlag sets f to v and marks it set, as the command line would.
func setFlag(f *pflag.Flag, v configValue) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		list := v.list
		if !v.isList {
			list = splitList(v.scalar)
		}
		if err := sv.Replace(list); err != nil {
			return err
		}
	} else if err := f.Value.Set(v.scalar); err != nil {
		return err
	}
	f.Changed = true
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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

// loadServeConfig reads --config and applies it with the environment to
// cmd's flags. A file inside a local config repo is refused: the server's
// settings are the operator's, not the repo's.
func loadServeConfig(cmd *cobra.Command, path, repoFlag string, getenv func(string) string) (*serveFile, error) {
	fs := cmd.Flags()
	var file *serveFile
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if file, err = parseServeConfig(path, data, newServeFlags()); err != nil {
			return nil, err
		}
	}
	if err := applyServeConfig(fs, file, getenv); err != nil {
		return nil, err
	}
	if path != "" {
		if repo := fs.Lookup(repoFlag); repo != nil && insideDir(path, repo.Value.String()) {
			return nil, fmt.Errorf("--config %s is inside the config repo %s: the server's settings come from the operator, never from the config repo", path, repo.Value.String())
		}
	}
	return file, nil
}

// newServeFlags is a fresh copy of serve's flags, on values of its own.
// with the root's persistent flags (--log-level, --log-format).
func newServeFlags() *pflag.FlagSet {
	root := newRootCmd(&app{stdout: io.Discard, stderr: io.Discard})
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		panic(err) // serve is always registered
	}
	fs := serve.Flags()
	fs.AddFlagSet(root.PersistentFlags())
	return fs
}

// insideDir reports whether path lies in the local directory dir.
func insideDir(path, dir string) bool {
	if dir == "" {
		return false
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false
	}
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	if rp, err := filepath.EvalSymlinks(ap); err == nil {
		ap = rp
	}
	if rd, err := filepath.EvalSymlinks(ad); err == nil {
		ad = rd
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// printServeConfig writes the effective configuration as a file the
// server would accept, each setting with where it came from. Values that
// may carry credentials are redacted; secrets themselves are never
// settings, only whether each is set is shown.
func printServeConfig(w io.Writer, fs *pflag.FlagSet, file *serveFile, getenv func(string) string, cliSet map[string]bool, secrets map[string]string) error {
	var b bytes.Buffer
	b.WriteString("# meridian serve: effective configuration (flags > MERIDIAN_* > file > defaults)\n")
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !serveOnlyFlags[f.Name] {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, name := range names {
		f := fs.Lookup(name)
		src := "default"
		switch {
		case cliSet[name]:
			src = "flag --" + name
		case getenv(flagEnv(name)) != "":
			src = "$" + flagEnv(name)
		case file != nil && file.values[name].line > 0:
			src = fmt.Sprintf("%s:%d", file.path, file.values[name].line)
		}
		key := strings.ReplaceAll(name, "-", "_")
		var node yaml.Node
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			list := sv.GetSlice()
			if list == nil {
				list = []string{}
			}
			if err := node.Encode(list); err != nil {
				return err
			}
			node.Style = yaml.FlowStyle
		} else {
			val := f.Value.String()
			if name == "db" || strings.HasSuffix(name, "-url") {
				val = redactValue(val)
			}
			node = yaml.Node{Kind: yaml.ScalarNode, Value: val}
			if f.Value.Type() == "string" {
				node.Style = yaml.DoubleQuotedStyle
			}
		}
		out, err := yaml.Marshal(map[string]*yaml.Node{key: &node})
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  # %s\n", strings.TrimRight(string(out), "\n"), src)
	}
	b.WriteString("# secrets (never printed):\n")
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "#   %s: %s\n", k, secrets[k])
	}
	_, err := w.Write(b.Bytes())
	return err
}

// redactValue hides the password of a URL (a postgres:// store URL with
// its password from $MERIDIAN_DB, an API URL with userinfo).
func redactValue(s string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return postgres.Redact(s)
	}
	return gitops.RedactURL(s)
}

// serveConfigFlags are --config and --print-config, and what loading the
// file found.
type serveConfigFlags struct {
	path  string
	print bool
	// file is the parsed file (nil: none); cliSet the flags given on the
	// command line, for --print-config's sources.
	file   *serveFile
	cliSet map[string]bool
}

func (s *serveConfigFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.path, "config", "", "YAML file of serve settings, keyed by flag name (flags and MERIDIAN_* variables override it; see docs/server.md)")
	cmd.Flags().BoolVar(&s.print, "print-config", false, "print the effective configuration, secrets redacted, and exit without serving")
}

// load applies the environment and the file to cmd's flags.
func (s *serveConfigFlags) load(cmd *cobra.Command, getenv func(string) string) error {
	s.cliSet = map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { s.cliSet[f.Name] = true })
	var err error
	s.file, err = loadServeConfig(cmd, s.path, "repo", getenv)
	return err
}

// serveSecrets says where each of the server's secrets comes from, without
// its value.
func serveSecrets(c *ServeConfig, webhookFile, githubFile, gitFile string) map[string]string {
	from := func(v []byte, file, env string) string {
		switch {
		case len(v) == 0:
			return "not set"
		case file != "":
			return "set (from file " + file + ")"
		}
		return "set (from $" + env + ")"
	}
	return map[string]string{
		"webhook secret": from(c.WebhookSecret, webhookFile, envWebhookSecret),
		"GitHub token":   from([]byte(c.GitHubToken), githubFile, envGitHubToken),
		"Git token":      from([]byte(c.GitToken), gitFile, gitops.DefaultTokenEnv),
	}
}
