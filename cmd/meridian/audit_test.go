package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/inventory"
)

// TestAudit runs meridian audit on examples/hybrid, with aws-us-east-1
// given an account, against the recorded inventory of package inventory's
// end-to-end test (a bucket without its customer-managed key, a log group
// keeping 30 days, an untagged VM).
func TestAudit(t *testing.T) {
	dir := copyExample(t)
	replaceIn(t, filepath.Join(dir, "targets", "aws-us-east-1.yaml"), "engine: terraform", "engine: terraform\naccount: {id: \"111122223333\"}")
	recorded := filepath.Join(repoRoot(t), "inventory", "testdata", "hybrid")
	args := []string{"audit", "--repo", dir, "--inventory", recorded, "--state-dir", t.TempDir()}

	res := runCLI(t, append(args, "--format", "json")...)
	if res.code != exitBlocked {
		t.Fatalf("exit %d, want %d (deny findings)\n%s%s", res.code, exitBlocked, res.stdout, res.stderr)
	}
	var rep inventory.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, res.stdout)
	}
	rules := map[string]int{}
	for _, f := range rep.Findings {
		rules[f.Rule+" "+f.Resource]++
	}
	for _, want := range []string{
		"MER-ENC-001 arn:aws:s3:::observability-gw-archive",
		"MER-RET-001 arn:aws:logs:us-east-1:111122223333:log-group:/meridian/aws-us-east-1/observability-gw",
	} {
		if rules[want] != 1 {
			t.Errorf("finding %q raised %d times, want once: %v", want, rules[want], rules)
		}
	}
	if len(rep.Frozen) != 1 || rep.Frozen[0] != "observability-gw" {
		t.Errorf("frozen = %v, want [observability-gw]", rep.Frozen)
	}

	// The table, remediation included: a reader of the terminal or of a
	// CI log must see what to do as --format json says it.
	res = runCLI(t, args...)
	golden(t, "audit.golden.txt", res.stdout)
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, f := range rep.Findings {
		if f.Remediation == "" || !strings.Contains(words(res.stdout), "fix: "+words(f.Remediation)) {
			t.Errorf("table output lacks the remediation of %s on %s (%q)", f.Rule, f.Resource, f.Remediation)
		}
	}
	for _, want := range []string{"aws-us-east-1", "MER-ENC-001", "i-0598c7d356eba48d7", "Frozen until their live findings are fixed: [observability-gw]"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("table output lacks %q:\n%s", want, res.stdout)
		}
	}

	// A target whose inventory cannot be read is an error, not a clean
	// audit.
	res = runCLI(t, "audit", "--repo", dir, "--inventory", t.TempDir(), "--state-dir", t.TempDir())
	if res.code != exitError || !strings.Contains(res.stdout, "ERROR: read inventory") {
		t.Errorf("unreadable inventory: exit %d, want %d\n%s%s", res.code, exitError, res.stdout, res.stderr)
	}
	// An example without account blocks has nothing to audit.
	res = runCLI(t, "audit", "--repo", copyExample(t), "--inventory", recorded, "--state-dir", t.TempDir())
	if res.code != exitError || !strings.Contains(res.stderr, "no target to audit") {
		t.Errorf("no account blocks: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
