package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanCompare runs the pull-request report from the CLI: a head that
// drops the owner tag from required_tags, and adds a workload without one,
// is still judged by the base's settings.
func TestPlanCompare(t *testing.T) {
	repo := exampleRepo(t)
	git(t, repo, "checkout", "-q", "-b", "feature")
	editFile(t, repo, "meridian.yaml", "required_tags: [owner, cost-center, env]", "required_tags: [cost-center, env]")
	if err := os.WriteFile(filepath.Join(repo, "workloads", "new-svc.yaml"), []byte(`apiVersion: meridian/v1
kind: Workload
name: new-svc
tags: {cost-center: CC-1001, env: staging}
replicas: {min: 1, max: 2}
per_replica: {vcpu: 1, memory_gib: 2, capacity: 10}
requires: {encryption: provider-managed, log_retention_days: 30}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "feature")
	git(t, repo, "checkout", "-q", "main")
	state := t.TempDir()

	r := runCLI(t, "plan", "--repo", repo, "--base", "main", "--head", "feature", "--format", "markdown", "--state-dir", state, "--blob-url", "https://example.com/blob/x")
	if r.code != exitBlocked {
		t.Fatalf("exit %d, want 2 (blocked by the base's required_tags):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"### Meridian plan: `feature` → `main`", "| `new-svc` | – → ", "MER-TAG-001",
		"[`workloads/new-svc.yaml:4`](https://example.com/blob/x/workloads/new-svc.yaml#L4)", "This pull request changes policies", "Findings resolved after merge"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, r.stdout)
		}
	}

	r = runCLI(t, "plan", "--repo", repo, "--base", "main", "--head", "feature", "--format", "sarif", "--state-dir", state)
	var sarif struct {
		Version string
		Runs    []struct {
			Results []struct{ RuleID string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sarif); err != nil || sarif.Version != "2.1.0" {
		t.Fatalf("sarif: %v\n%s", err, r.stdout)
	}
	found := false
	for _, res := range sarif.Runs[0].Results {
		found = found || res.RuleID == "MER-TAG-001"
	}
	if !found || r.code != exitBlocked {
		t.Errorf("SARIF lacks MER-TAG-001 (exit %d): %+v", r.code, sarif.Runs[0].Results)
	}

	r = runCLI(t, "plan", "--repo", repo, "--base", "main", "--format", "markdown", "--state-dir", state)
	if r.code != exitError || !strings.Contains(r.stderr, "--base and --head go together") {
		t.Errorf("--base alone: %d %s", r.code, r.stderr)
	}
}
