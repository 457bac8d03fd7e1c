package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// builtinFS is the built-in rule library: one rule per folder,
// builtin/<kind>/<rule>/<rule>.rego beside <rule>_test.rego, as in regal.
//
//go:embed builtin
var builtinFS embed.FS

// builtinPrefix marks built-in files in module names, locations and test
// results. A config repo path is relative and never contains a colon in
// practice, so built-in and org files cannot collide.
const builtinPrefix = "builtin:"

// builtinFiles returns the built-in library as path -> source, with test
// files only when tests is set.
func builtinFiles(tests bool) (map[string]string, error) {
	files := map[string]string{}
	err := fs.WalkDir(builtinFS, "builtin", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return err
		}
		if isTestFile(path) && !tests {
			return nil
		}
		b, err := builtinFS.ReadFile(path)
		if err != nil {
			return err
		}
		files[builtinPrefix+strings.TrimPrefix(path, "builtin/")] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read built-in policies: %w", err)
	}
	return files, nil
}

// isTestFile reports whether a policy path holds tests, which the engine
// ignores and RunTests runs.
func isTestFile(path string) bool { return strings.HasSuffix(path, "_test.rego") }
