package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/gittest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// copyExample copies examples/hybrid into a fresh folder outside Git, so
// that commit and paths in the output do not depend on this checkout.
func copyExample(t testing.TB) string {
	t.Helper()
	return copyExampleNamed(t, "hybrid")
}

// copyExampleNamed copies examples/NAME the way copyExample does.
func copyExampleNamed(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(repoRoot(t), "examples", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

type result struct {
	code           int
	stdout, stderr string
}

// offline keeps a plan independent of this machine: no Terraform binary
// found on PATH and no ledger from the user's own state dir.
func offline(t testing.TB, args ...string) []string {
	t.Helper()
	return append(args, "--terraform=false", "--state-dir", t.TempDir())
}

func runCLI(t testing.TB, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from golden (-want +got):\n%s", path, diff)
	}
}

func TestPlanExampleGolden(t *testing.T) {
	dir := copyExample(t)
	for _, tc := range []struct{ format, file string }{
		{"json", "plan.golden.json"},
		{"table", "plan.golden.txt"},
		{"markdown", "plan.golden.md"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			// The deploy section names the local deploy repo in the state
			// dir, which starts out empty: every file is added.
			state := t.TempDir()
			r := runCLI(t, "plan", "--repo", dir, "--format", tc.format, "--terraform=false", "--state-dir", state)
			if r.code != 0 {
				t.Fatalf("plan exited %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			golden(t, tc.file, strings.NewReplacer(dir, "<repo>", state, "<state-dir>").Replace(r.stdout))
		})
	}
}

// TestPlanExampleCompliant re-checks every chosen (workload, target) pair
// of the example plan against the capability semantics written out
// independently here, so a policy or scheduler bug cannot vouch for itself.
func TestPlanExampleCompliant(t *testing.T) {
	dir := copyExample(t)
	r := runCLI(t, offline(t, "plan", "--repo", dir, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("plan exited %d, want 0; stderr:\n%s\nstdout:\n%s", r.code, r.stderr, r.stdout)
	}
	var plan meridian.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("stdout is not one JSON plan: %v", err)
	}
	l, err := (&repoFlags{repo: dir}).load(context.Background(), &app{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Unplaceable) != 0 {
		t.Errorf("unplaceable workloads in the example: %+v", plan.Unplaceable)
	}
	placed := map[string]int{}
	used := map[string][2]float64{}
	for _, pl := range plan.Placements {
		w, tg := findWorkload(l.cfg, pl.Workload), mustTarget(t, l.cfg, pl.Target)
		if w == nil {
			t.Fatalf("placement for unknown workload %q", pl.Workload)
		}
		placed[w.Name]++
		if pl.Blocked {
			t.Errorf("%s on %s is blocked", w.Name, tg.Name)
		}
		if w.Pin != "" && w.Pin != tg.Name {
			t.Errorf("%s is pinned to %s but placed on %s", w.Name, w.Pin, tg.Name)
		}
		if tg.Encryption.Level() < w.Requires.Encryption {
			t.Errorf("%s needs %s encryption; %s offers %s", w.Name, w.Requires.Encryption, tg.Name, tg.Encryption.Level())
		}
		if w.Requires.LogRetentionDays > tg.LogRetentionMaxDays {
			t.Errorf("%s needs %d days of logs; %s keeps at most %d", w.Name, w.Requires.LogRetentionDays, tg.Name, tg.LogRetentionMaxDays)
		}
		if js := w.Requires.Jurisdictions; len(js) > 0 && !contains(js, tg.Jurisdiction) {
			t.Errorf("%s must stay in %v; %s is in %s", w.Name, js, tg.Name, tg.Jurisdiction)
		}
		if w.Tags["data-class"] == "restricted" && tg.Provider != meridian.ProviderOnPrem {
			t.Errorf("%s holds restricted data but is placed on %s (%s)", w.Name, tg.Name, tg.Provider)
		}
		u := used[tg.Name]
		u[0] += float64(pl.Replicas) * w.PerReplica.VCPU
		u[1] += float64(pl.Replicas) * w.PerReplica.MemoryGiB
		used[tg.Name] = u
	}
	for _, w := range l.cfg.Workloads {
		if placed[w.Name] != w.SpreadCount() {
			t.Errorf("%s has %d placements, want %d", w.Name, placed[w.Name], w.SpreadCount())
		}
	}
	for name, u := range used {
		tg := mustTarget(t, l.cfg, name)
		if tg.Capacity.Limited() && (u[0] > tg.Capacity.VCPU+1e-9 || u[1] > tg.Capacity.MemoryGiB+1e-9) {
			t.Errorf("%s over capacity: %.1f vCPU / %.1f GiB used of %.1f / %.1f", name, u[0], u[1], tg.Capacity.VCPU, tg.Capacity.MemoryGiB)
		}
	}
	for _, f := range plan.Findings {
		if f.Blocking() {
			t.Errorf("example has a deny finding: %+v", f)
		}
	}
}

func findWorkload(cfg *meridian.Config, name string) *meridian.Workload {
	for i := range cfg.Workloads {
		if cfg.Workloads[i].Name == name {
			return &cfg.Workloads[i]
		}
	}
	return nil
}

func mustTarget(t testing.TB, cfg *meridian.Config, name string) *meridian.Target {
	t.Helper()
	tg, ok := cfg.Target(name)
	if !ok {
		t.Fatalf("unknown target %q", name)
	}
	return tg
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestPlanExitCodes(t *testing.T) {
	cases := map[string]struct {
		reason   string
		edit     func(t *testing.T, dir string)
		format   string
		wantCode int
		wantErr  string
	}{
		"missing tag": {
			reason: "a missing required tag is a deny finding: exit 2, still one JSON document",
			edit: func(t *testing.T, dir string) {
				replaceIn(t, filepath.Join(dir, "workloads", "docs-site.yaml"), "  owner: team-platform\n", "")
			},
			format:   "json",
			wantCode: 2,
		},
		"unplaceable": {
			reason: "a workload that no target can host exits 2",
			edit: func(t *testing.T, dir string) {
				replaceIn(t, filepath.Join(dir, "workloads", "apac-gateway.yaml"), "log_retention_days: 180", "log_retention_days: 9000")
			},
			format:   "table",
			wantCode: 2,
		},
		"invalid config": {
			reason: "an invalid repo exits 1 and names file, line and field",
			edit: func(t *testing.T, dir string) {
				replaceIn(t, filepath.Join(dir, "workloads", "docs-site.yaml"), "storage_gb: 5", "storage_gb: five")
			},
			format:   "table",
			wantCode: 1,
			wantErr:  "workloads/docs-site.yaml:19: storage_gb: must be a number, got \"five\"",
		},
		"no repo": {
			reason:   "a repo that does not exist exits 1",
			edit:     func(t *testing.T, dir string) { os.RemoveAll(dir) },
			format:   "json",
			wantCode: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := copyExample(t)
			tc.edit(t, dir)
			r := runCLI(t, offline(t, "plan", "--repo", dir, "--format", tc.format)...)
			if r.code != tc.wantCode {
				t.Fatalf("%s: exit %d, want %d\nstderr:\n%s", tc.reason, r.code, tc.wantCode, r.stderr)
			}
			if tc.format == "json" {
				var doc map[string]any
				dec := json.NewDecoder(strings.NewReader(r.stdout))
				if err := dec.Decode(&doc); err != nil {
					t.Fatalf("%s: stdout is not JSON: %v\n%s", tc.reason, err, r.stdout)
				}
				if dec.More() {
					t.Fatalf("%s: stdout holds more than one JSON document", tc.reason)
				}
			}
			if tc.wantErr != "" && !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.reason, tc.wantErr, r.stderr)
			}
		})
	}
}

func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	dir := copyExample(t)
	if r := runCLI(t, "validate", "--repo", dir); r.code != 0 {
		t.Fatalf("validate exited %d on the example:\n%s", r.code, r.stderr)
	}
	// Two bad files: both must be reported, each with path:line: field.
	replaceIn(t, filepath.Join(dir, "workloads", "docs-site.yaml"), "egress_gb_month: 600", "egress_gb_month: 600\npin: nowhere")
	replaceIn(t, filepath.Join(dir, "targets", "edge-ber-store.yaml"), "log_retention_max_days: 30", "log_retention_max_day: 30")
	r := runCLI(t, "validate", "--repo", dir)
	if r.code != 1 {
		t.Fatalf("validate exited %d on a broken repo, want 1", r.code)
	}
	for _, want := range []string{
		`workloads/docs-site.yaml:21: pin: target "nowhere" is not defined in targets/`,
		`targets/edge-ber-store.yaml:9: log_retention_max_day: unknown field (did you mean "log_retention_max_days"?)`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestPlanGitURL plans the example through a real Git repository reached by
// a file:// URL, and checks that the resolved commit lands in the plan.
func TestPlanGitURL(t *testing.T) {
	gittest.CLI(t)
	dir := copyExample(t)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", "."},
		{"-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-m", "example"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, offline(t, "plan", "--repo", "file://"+dir, "--ref", "main", "--format", "json", "--cache-dir", t.TempDir())...)
	if r.code != 0 {
		t.Fatalf("plan exited %d:\n%s", r.code, r.stderr)
	}
	var plan meridian.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(head)); plan.Commit != want {
		t.Errorf("plan commit %q, want HEAD %q", plan.Commit, want)
	}
}
