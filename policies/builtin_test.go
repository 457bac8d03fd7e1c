package policies

import (
	"context"
	"testing"
)

// TestBuiltinRegoTests runs the built-in library's own Rego tests, so that
// `go test` fails whenever `opa test policies/builtin` would.
func TestBuiltinRegoTests(t *testing.T) {
	results, err := RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no built-in Rego tests ran")
	}
	for _, r := range results {
		if r.Outcome != OutcomePass {
			t.Errorf("%s:%d: %s.%s: %s %s\n%s%s", r.File, r.Line, r.Package, r.Name, r.Outcome, r.Error, r.Explanation, r.Output)
		}
		if !r.Builtin {
			t.Errorf("%s.%s: Builtin = false for a built-in test", r.Package, r.Name)
		}
	}
}
