package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian/cmd/meridian/internal/serveconfig"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/store/postgres"
)

// The server configuration file (docs/server.md, "Configuration file")
// is read by package serveconfig; here it is wired to serve's flags.

// secretKeys are the secrets of serve that a config file may not hold,
// by flag-style name, with where each goes instead.
var secretKeys = map[string]string{
	"webhook-secret": "webhook_secret_file or $" + envWebhookSecret,
	"github-token":   "github_token_file or $" + envGitHubToken,
	"git-token":      "git_token_file or $" + gitops.DefaultTokenEnv,
}

// loadServeConfig reads --config and applies it with the environment to
// cmd's flags. A file inside a local config repo is refused: the server's
// settings are the operator's, not the repo's.
func loadServeConfig(cmd *cobra.Command, path, repoFlag string, getenv func(string) string) (*serveconfig.File, error) {
	fs := cmd.Flags()
	var file *serveconfig.File
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if file, err = serveconfig.Parse(path, data, newServeFlags(), secretKeys); err != nil {
			return nil, err
		}
	}
	if err := serveconfig.Apply(fs, file, getenv); err != nil {
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
func printServeConfig(w io.Writer, fs *pflag.FlagSet, file *serveconfig.File, getenv func(string) string, cliSet map[string]bool, secrets map[string]string) error {
	var b bytes.Buffer
	b.WriteString("# meridian serve: effective configuration (flags > MERIDIAN_* > file > defaults)\n")
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if serveconfig.Setting(f.Name) {
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
		case getenv(serveconfig.EnvVar(name)) != "":
			src = "$" + serveconfig.EnvVar(name)
		case file.Source(name) != "":
			src = file.Source(name)
		}
		key := strings.ReplaceAll(name, "-", "_")
		var node yaml.Node
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			// List entries may be URLs with credentials (peer_urls,
			// repository lists), and --print-config shows them before
			// anything validates them: each is redacted like a URL.
			list := []string{}
			for _, v := range sv.GetSlice() {
				list = append(list, redactValue(v))
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
	file   *serveconfig.File
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
