// Package gittest finds the git command for tests that drive it (Argo
// CD-style deploy repos are pushed to and read back with the real CLI).
package gittest

import (
	"os/exec"
	"testing"

	"github.com/meridianhq/meridian/citest"
)

// CLI returns the path of git. Without it the test skips, except under
// CI=true, where .ci/run installs git and a missing one is a failure.
func CLI(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		citest.Missing(tb, "git CLI not installed")
	}
	return path
}
