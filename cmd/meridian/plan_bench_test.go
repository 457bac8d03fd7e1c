package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// writeTopology writes a config repo of nw workloads over nt targets: 80%
// cloud regions from the catalog, 20% capacity-limited on-prem and edge
// sites, and workloads with a realistic mix of encryption, retention,
// residency, spread and pins.
func writeTopology(tb testing.TB, dir string, nw, nt int, seed uint64) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	type region struct{ provider, region, jur, kms string }
	clouds := []region{
		{"aws", "us-east-1", "us", "aws-kms"}, {"aws", "eu-central-1", "eu", "aws-kms"}, {"azure", "northeurope", "eu", "azure-key-vault"},
		{"azure", "eastus", "us", "azure-key-vault"}, {"azure", "westeurope", "eu", "azure-key-vault"},
		{"gcp", "us-central1", "us", "gcp-kms"}, {"gcp", "europe-west1", "eu", "gcp-kms"},
	}
	jurs := []string{"us", "eu", "sg"}
	var targets []string
	finite := nt / 5
	var b strings.Builder
	for i := range nt {
		b.Reset()
		name := fmt.Sprintf("t%03d", i)
		targets = append(targets, name)
		fmt.Fprintf(&b, "apiVersion: meridian/v1\nkind: Target\nname: %s\n", name)
		if i < finite {
			kind := "onprem"
			if i%2 == 1 {
				kind = "edge"
			}
			fmt.Fprintf(&b, "provider: %s\nregion: site%d\njurisdiction: %s\n", kind, i, jurs[i%len(jurs)])
			fmt.Fprintf(&b, "encryption: {kms: vault, customer_managed_keys: true, hsm: %t}\n", i%3 == 0)
			fmt.Fprintf(&b, "log_retention_max_days: %d\n", []int{365, 2555, 30}[i%3])
			fmt.Fprintf(&b, "capacity: {vcpu: %d, memory_gib: %d}\n", 64+rng.IntN(64), 256+rng.IntN(256))
			fmt.Fprintf(&b, "pricing: {vcpu_hour: %.4f, gib_hour: %.5f, egress_gb: 0.02, storage_gb_month: 0.05}\n", 0.02+rng.Float64()*0.004, 0.0028+rng.Float64()*0.0005)
		} else {
			r := clouds[i%len(clouds)]
			fmt.Fprintf(&b, "provider: %s\nregion: %s\njurisdiction: %s\n", r.provider, r.region, r.jur)
			fmt.Fprintf(&b, "encryption: {kms: %s, customer_managed_keys: %t, hsm: %t}\n", r.kms, i%2 == 0, i%3 == 0)
			fmt.Fprintf(&b, "log_retention_max_days: %d\npricing: {catalog: true}\n", []int{3653, 730, 3650}[i%3])
		}
		writeFile(tb, filepath.Join(dir, "targets", name+".yaml"), b.String())
	}
	encs := []string{"none", "provider-managed", "provider-managed", "customer-managed", "customer-managed", "hsm"}
	rets := []int{7, 30, 90, 365, 400, 1095}
	for i := range nw {
		b.Reset()
		fmt.Fprintf(&b, "apiVersion: meridian/v1\nkind: Workload\nname: w%04d\n", i)
		fmt.Fprintf(&b, "tags: {owner: team-%d, cost-center: CC-%04d, env: prod}\n", i%40, 1000+i%97)
		min := 1 + rng.IntN(4)
		fmt.Fprintf(&b, "replicas: {min: %d, max: %d}\n", min, min+4)
		fmt.Fprintf(&b, "per_replica: {vcpu: %d, memory_gib: %d, capacity: 100}\n", 1<<rng.IntN(3), 2<<rng.IntN(4))
		fmt.Fprintf(&b, "storage_gb: %d\negress_gb_month: %d\n", rng.IntN(500), rng.IntN(300))
		switch {
		case i%20 == 0: // 5% pinned, to a cloud target; no requirements, so the pin is compliant
			fmt.Fprintf(&b, "pin: %s\n", targets[finite+rng.IntN(nt-finite)])
		case i%10 == 1:
			b.WriteString("requires: {spread: 2, encryption: provider-managed}\n")
		default:
			fmt.Fprintf(&b, "requires:\n  encryption: %s\n  log_retention_days: %d\n", encs[rng.IntN(len(encs))], rets[rng.IntN(len(rets))])
			if rng.IntN(10) < 3 {
				fmt.Fprintf(&b, "  jurisdictions: [%s]\n", jurs[rng.IntN(2)])
			}
		}
		writeFile(tb, filepath.Join(dir, "workloads", fmt.Sprintf("w%04d.yaml", i)), b.String())
	}
}

func writeFile(tb testing.TB, path, s string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPlan1000x50 and BenchmarkPlan10000x200 plan a generated repo
// end to end through the CLI: read, parse, OPA, pricing, placement, JSON.
// Besides the time per plan they report each stage's share (load, policy,
// forecast, solve, explain, terraform, deploy, store, write, as
// `meridian plan --timings` prints them) in seconds per plan, and the
// solver's gap.
func BenchmarkPlan1000x50(b *testing.B)   { benchmarkPlan(b, 1000, 50) }
func BenchmarkPlan10000x200(b *testing.B) { benchmarkPlan(b, 10000, 200) }

func benchmarkPlan(b *testing.B, workloads, targets int) {
	dir := b.TempDir()
	writeTopology(b, dir, workloads, targets, 1)
	args := []string{"plan", "--repo", dir, "--format", "json", "--terraform=false", "--state-dir", b.TempDir(), "--timings"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, nil, &stdout, &stderr); code != 0 {
		b.Fatalf("plan exited %d:\n%s", code, stderr.String())
	}
	var plan struct{ Solver meridian.SolverStats }
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		b.Fatalf("plan output: %v", err)
	}
	// Every timed run must succeed too: a run that fails early (a stale
	// state dir, a full disk) is fast and would pass for a speed-up.
	stages := map[string]float64{}
	n := 0
	for b.Loop() {
		stderr.Reset()
		if code := run(context.Background(), args, nil, io.Discard, &stderr); code != 0 {
			b.Fatalf("plan exited %d:\n%s", code, stderr.String())
		}
		if err := addTimings(stages, stderr.String()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for stage, sum := range stages {
		b.ReportMetric(sum/float64(n), stage+"-s/op")
	}
	b.ReportMetric(plan.Solver.GapPercent, "gap%")
}

// timingsLine is the line `meridian plan --timings` prints.
var timingsLine = regexp.MustCompile(`(?m)^meridian: timings:((?: [a-z]+ [0-9.]+s)+)$`)

// addTimings adds the stage timings in a plan's stderr to sums, by stage.
func addTimings(sums map[string]float64, stderr string) error {
	m := timingsLine.FindStringSubmatch(stderr)
	if m == nil {
		return fmt.Errorf("no timings line in stderr:\n%s", stderr)
	}
	f := strings.Fields(m[1])
	for q := 0; q+1 < len(f); q += 2 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[q+1], "s"), 64)
		if err != nil {
			return fmt.Errorf("timings line %q: %w", m[0], err)
		}
		if f[q] != "total" {
			sums[f[q]] += v
		}
	}
	return nil
}

// TestGeneratedTopologyPlans keeps the benchmark's generator honest: its
// repo must be valid and fully placeable, or the benchmark measures errors.
func TestGeneratedTopologyPlans(t *testing.T) {
	dir := t.TempDir()
	writeTopology(t, dir, 200, 20, 2)
	r := runCLI(t, offline(t, "plan", "--repo", dir, "--format", "json")...)
	if r.code == 0 {
		return
	}
	var plan meridian.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan of the generated repo exited %d:\n%s", r.code, r.stderr)
	}
	for _, u := range plan.Unplaceable {
		t.Errorf("unplaceable %s: %s", u.Workload, u.Reason)
	}
	for _, f := range plan.Findings {
		if f.Blocking() {
			t.Errorf("deny finding: %+v", f)
		}
	}
	t.Fatalf("plan of the generated repo exited %d", r.code)
}
