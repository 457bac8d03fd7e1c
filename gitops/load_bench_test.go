package gitops

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/meridianhq/meridian/gitops/config"
)

// BenchmarkLoadConfig1000 and BenchmarkLoadConfig10000 read and parse a
// config folder of that many workload files (and a fiftieth as many
// targets) as `meridian plan --repo DIR` does: a snapshot of the folder,
// then config.Load, which reads and parses the files on every core.
// BenchmarkLoadConfigGit10000 reads the same from the folder's commit
// (`--ref HEAD`, as for a Git URL): a Git tree, not the files on disk.
func BenchmarkLoadConfig1000(b *testing.B)     { benchmarkLoadConfig(b, 1000, "") }
func BenchmarkLoadConfig10000(b *testing.B)    { benchmarkLoadConfig(b, 10000, "") }
func BenchmarkLoadConfigGit10000(b *testing.B) { benchmarkLoadConfig(b, 10000, "HEAD") }

func benchmarkLoadConfig(b *testing.B, workloads int, ref string) {
	dir := b.TempDir()
	for t := range workloads / 50 {
		writeFile(b, filepath.Join(dir, "targets", fmt.Sprintf("t%03d.yaml", t)), fmt.Sprintf(
			"apiVersion: meridian/v1\nkind: Target\nname: t%03d\nprovider: aws\nregion: us-east-1\njurisdiction: us\n"+
				"encryption: {kms: aws-kms, customer_managed_keys: true}\nlog_retention_max_days: 365\npricing: {catalog: true}\n", t))
	}
	for w := range workloads {
		writeFile(b, filepath.Join(dir, "workloads", fmt.Sprintf("w%05d.yaml", w)), fmt.Sprintf(
			"apiVersion: meridian/v1\nkind: Workload\nname: w%05d\ntags: {owner: team-%d, cost-center: CC-%04d, env: prod}\n"+
				"replicas: {min: %d, max: %d}\nper_replica: {vcpu: 2, memory_gib: 8, capacity: 100}\nstorage_gb: %d\negress_gb_month: 40\n"+
				"requires:\n  encryption: provider-managed\n  log_retention_days: 30\n", w, w%40, w%97, 1+w%3, 4+w%3, w%500))
	}
	if ref != "" {
		runGit(b, dir, "init", "-q", "-b", "main")
		runGit(b, dir, "add", "-A")
		runGit(b, dir, "commit", "-q", "-m", "config")
	}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := Load(context.Background(), dir, ref, Options{})
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Load(snap.FS)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Workloads) != workloads {
			b.Fatalf("loaded %d workloads, want %d", len(cfg.Workloads), workloads)
		}
	}
}
