// Package terraformtest finds the Terraform binary for tests that need a
// real one, the way terraform-exec's own end-to-end tests do.
package terraformtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian/citest"
)

// PinnedVersion is the release scripts/install-terraform.sh builds.
const PinnedVersion = "v1.5.7"

// Binary returns the Terraform binary: $MERIDIAN_TERRAFORM, then terraform
// or tofu on PATH, then the cache scripts/install-terraform.sh fills. With
// none, the test is skipped with a message on stderr (visible without -v),
// except in CI (CI=true), where a missing binary fails the test: the apply
// path must never go untested there.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("MERIDIAN_TERRAFORM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("MERIDIAN_TERRAFORM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if p := cached(); p != "" {
		return p
	}
	msg := "no Terraform binary: set MERIDIAN_TERRAFORM=$(scripts/install-terraform.sh | tail -n1); the Terraform apply path is NOT tested"
	citest.Missing(tb, msg)
	return ""
}

// cached returns the binary scripts/install-terraform.sh would print, if it
// has been built.
func cached() string {
	base := os.Getenv("MERIDIAN_CACHE_DIR")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(c, "meridian")
	}
	p := filepath.Join(base, "terraform", PinnedVersion, "terraform")
	if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
		return p
	}
	return ""
}
