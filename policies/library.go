package policies

// Library returns the built-in rule library as path -> source, test files
// left out, named as findings name them ("builtin:..."). Org policies are
// compiled with it (they import data.meridian.lib), so a bundle that
// carries them to an OPA agent carries it too (package edge).
func Library() (map[string]string, error) { return builtinFiles(false) }
