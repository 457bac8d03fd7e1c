// Package citest decides what a test does when a tool it needs (a binary,
// a server, an environment variable naming one) is missing: locally it
// skips, loudly, so a developer without the tool can still run the rest;
// under CI=true it fails, because .ci/run installs every tool and a suite
// that passes by skipping proves nothing.
package citest

import (
	"fmt"
	"os"
	"testing"
)

// Missing ends tb because what msg describes is missing: Fatal under
// CI=true, else Skip, with msg also written to stderr so the skip shows
// without -v.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: .ci/run installs it, so this test must run)")
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s ***\n\n", tb.Name(), msg)
	tb.Skip("SKIPPED: " + msg)
}

// Missingf is Missing with a format.
func Missingf(tb testing.TB, format string, args ...any) {
	tb.Helper()
	Missing(tb, fmt.Sprintf(format, args...))
}
