// Package gittest finds the git command for tests that drive it (Argo
// CD-style deploy repos are pushed to and read back with the real CLI).
package gittest

import (
	"os"
	"os/exec"
	"testing"
)

// CLI returns the path of git. Without it the test skips, except under
// CI=true, where .ci/run installs git and a missing one is a failure.
func CLI(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CI=true: git CLI not installed; .ci/run installs it")
		}
		tb.Skip("git CLI not installed (.ci/run installs it)")
	}
	return path
}
