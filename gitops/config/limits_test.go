package config_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/gittest"
)

var historyWorkload = strings.Replace(workload, "memory_gib: 2}", "memory_gib: 2, capacity: 100}", 1) + "load:\n  history: metrics/api.csv\n"

// configErrors returns err's config errors as strings, failing on any
// other error: everything a repo can do wrong is a config error.
func configErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ces meridian.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("error is %T, want meridian.ConfigErrors (a 400, not a 500): %v", err, err)
	}
	var out []string
	for _, e := range ces {
		out = append(out, e.Error())
	}
	return out
}

func TestLimitsSetting(t *testing.T) {
	cases := map[string]struct {
		reason   string
		settings string
		want     meridian.ByteSize
		wantErrs []string
	}{
		"default": {
			reason: "an unset cap is 32 MiB",
			want:   32 << 20,
		},
		"unit": {
			reason:   "sizes take units, powers of 1024",
			settings: "limits:\n  load_history_bytes: 64MB\n",
			want:     64 << 20,
		},
		"bytes": {
			reason:   "a plain integer is bytes",
			settings: "limits: {load_history_bytes: 1048576}\n",
			want:     1 << 20,
		},
		"mib spelled": {
			reason:   "KiB/MiB/GiB mean the same as KB/MB/GB",
			settings: "limits: {load_history_bytes: 128 MiB}\n",
			want:     128 << 20,
		},
		"too large": {
			reason:   "a pull request may raise the cap, but not without bound",
			settings: "limits: {load_history_bytes: 1GB}\n",
			wantErrs: []string{"meridian.yaml:3: limits.load_history_bytes: must be positive and at most 256MiB, got 1073741824 bytes"},
		},
		"zero": {
			reason:   "a zero cap would refuse every file",
			settings: "limits: {load_history_bytes: 0}\n",
			wantErrs: []string{"meridian.yaml:3: limits.load_history_bytes: must be positive and at most 256MiB, got 0 bytes"},
		},
		"garbage": {
			reason:   "an unreadable size names file, line and field",
			settings: "limits:\n  load_history_bytes: lots\n",
			wantErrs: []string{`meridian.yaml:4: limits.load_history_bytes: must be a size such as 64MB or a number of bytes, got "lots"`},
		},
		"overflow": {
			reason:   "no wrap-around",
			settings: "limits: {load_history_bytes: 99999999999999999GB}\n",
			wantErrs: []string{`meridian.yaml:3: limits.load_history_bytes: must be a size such as 64MB or a number of bytes, got "99999999999999999GB"`},
		},
		"unknown field": {
			reason:   "typos in limits are caught like any other",
			settings: "limits: {load_history: 1MB}\n",
			wantErrs: []string{`meridian.yaml:3: limits.load_history: unknown field`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"meridian.yaml": {Data: []byte("apiVersion: meridian/v1\nkind: Settings\n" + tc.settings)}}
			cfg, err := config.Load(fsys)
			if diff := cmp.Diff(tc.wantErrs, configErrors(t, err)); diff != "" {
				t.Fatalf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
			if err == nil && cfg.Settings.Limits.LoadHistoryBytes != tc.want {
				t.Errorf("%s\nLoadHistoryBytes = %d, want %d", tc.reason, cfg.Settings.Limits.LoadHistoryBytes, tc.want)
			}
		})
	}
}

// writeRepo writes files under a new directory and returns it.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, s := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadRepo reads dir the way `meridian plan --repo DIR` does.
func loadRepo(t *testing.T, dir, ref string) (*meridian.Config, error) {
	t.Helper()
	snap, err := gitops.Load(t.Context(), dir, ref, gitops.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("gitops.Load: %v", err)
	}
	return config.Load(snap.FS)
}

// TestLoadHistoryOverCap is finding #5: a 100 MB CSV was read whole. It is
// now a config error (plan exits 1) naming the file, its size and the cap,
// found by a stat: the file is never read.
func TestLoadHistoryOverCap(t *testing.T) {
	cases := map[string]struct {
		reason   string
		settings string
		want     []string
	}{
		"default cap": {
			reason: "100 MiB is over the 32 MiB default",
			want: []string{"workloads/api.yaml:8: load.history: load history metrics/api.csv: file is 104857600 bytes (100.0 MiB), " +
				"over the 32MiB cap (limits.load_history_bytes in meridian.yaml)"},
		},
		"raised cap": {
			reason:   "a repo with long histories raises the cap in meridian.yaml",
			settings: "apiVersion: meridian/v1\nkind: Settings\nlimits: {load_history_bytes: 128MB}\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"targets/a.yaml": target, "workloads/api.yaml": historyWorkload, "metrics/api.csv": ""}
			if tc.settings != "" {
				files["meridian.yaml"] = tc.settings
			}
			dir := writeRepo(t, files)
			// Sparse: 100 MiB that costs no disk and no time to write.
			if err := os.Truncate(filepath.Join(dir, "metrics", "api.csv"), 100<<20); err != nil {
				t.Fatal(err)
			}

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := loadRepo(t, dir, "")
			runtime.ReadMemStats(&after)

			if diff := cmp.Diff(tc.want, configErrors(t, err)); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("loading the repo allocated %d bytes: the CSV must not be read", alloc)
			}
		})
	}
}

func TestLoadHistoryNotAFile(t *testing.T) {
	dir := writeRepo(t, map[string]string{"targets/a.yaml": target, "workloads/api.yaml": historyWorkload})
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "metrics", "api.csv")); err != nil {
		if err := os.MkdirAll(filepath.Join(dir, "metrics"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "metrics", "api.csv")); err != nil {
			if runtime.GOOS != "windows" {
				t.Fatal(err)
			}
			t.Skipf("symlinks need a privilege on Windows: %v", err)
		}
	}
	_, err := loadRepo(t, dir, "")
	want := []string{"workloads/api.yaml:8: load.history: load history metrics/api.csv: cannot read: symbolic link points outside the config repo"}
	if diff := cmp.Diff(want, configErrors(t, err)); diff != "" {
		t.Errorf("a CSV linked to /dev/zero is refused without reading it (-want +got):\n%s", diff)
	}
}

// TestSymlinksOutOfRepo is finding #11: validate --repo DIR printed all of
// /etc/passwd in an error; in Git mode the same link was a 500.
func TestSymlinksOutOfRepo(t *testing.T) {
	const secret = "root:x:0:0:SECRET-LINE"
	outside := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(outside, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeRepo(t, map[string]string{"targets/a.yaml": target, "workloads/api.yaml": workload})
	for name, target := range map[string]string{
		"workloads/evil.yaml":   outside,
		"policies/evil.rego":    "../../" + filepath.Base(filepath.Dir(outside)) + "/passwd",
		"workloads/inside.yaml": "api.yaml",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			if runtime.GOOS != "windows" {
				t.Fatal(err)
			}
			t.Skipf("symlinks need a privilege on Windows: %v", err)
		}
	}
	wantFolder := []string{
		"policies/evil.rego: cannot read: symbolic link points outside the config repo",
		"workloads/evil.yaml: cannot read: symbolic link points outside the config repo",
		// The link inside the repo is read: its workload is a duplicate.
		`workloads/inside.yaml:3: name: duplicate workload name "api", first defined at workloads/api.yaml:3`,
	}

	t.Run("folder", func(t *testing.T) {
		_, err := loadRepo(t, dir, "")
		got := configErrors(t, err)
		if diff := cmp.Diff(wantFolder, got); diff != "" {
			t.Errorf("links out are config errors naming the file; links inside are followed (-want +got):\n%s", diff)
		}
		if strings.Contains(strings.Join(got, "\n"), "SECRET") {
			t.Errorf("an error shows the link target's content:\n%s", strings.Join(got, "\n"))
		}
	})

	t.Run("git", func(t *testing.T) {
		gittest.CLI(t)
		for _, args := range [][]string{
			{"init", "-q", "-b", "main"},
			{"add", "-A"},
			{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "links"},
		} {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		// Read at a ref, so from the object store (Git mode), not the disk.
		_, err := loadRepo(t, dir, "main")
		got := configErrors(t, err)
		if diff := cmp.Diff(wantFolder, got); diff != "" {
			t.Errorf("in Git mode a link out is the same config error, not a 500 (-want +got):\n%s", diff)
		}
		if strings.Contains(strings.Join(got, "\n"), "SECRET") {
			t.Errorf("an error shows the link target's content:\n%s", strings.Join(got, "\n"))
		}
	})
}

// TestYAMLCapAdmitsGeneratedRepo: one file holding a generated repo's
// 10,000 workloads must load. It is over the old 4 MiB cap.
func TestYAMLCapAdmitsGeneratedRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 5 MB of YAML")
	}
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "---\n# generated: workload %d of 10000, team-%d; runbook https://wiki.example.com/runbooks/platform/workloads\napiVersion: meridian/v1\nkind: Workload\nname: w%05d\n", i, i%40, i)
		fmt.Fprintf(&b, "tags: {owner: team-%d, cost-center: CC-%04d, env: prod}\n", i%40, 1000+i%97)
		b.WriteString("replicas: {min: 2, max: 6}\nper_replica: {vcpu: 2, memory_gib: 8, capacity: 100}\nstorage_gb: 200\negress_gb_month: 100\n")
		b.WriteString("requires:\n  encryption: customer-managed\n  log_retention_days: 365\n  jurisdictions: [eu]\n")
	}
	if b.Len() <= 4<<20 {
		t.Fatalf("generated file is %d bytes; the test needs one over the old 4 MiB cap", b.Len())
	}
	cfg, err := config.Load(fstest.MapFS{"targets/a.yaml": {Data: []byte(target)}, "workloads/all.yaml": {Data: []byte(b.String())}})
	if err != nil {
		t.Fatalf("a %d-byte generated workloads file must load: %v", b.Len(), err)
	}
	if len(cfg.Workloads) != 10000 {
		t.Errorf("%d workloads, want 10000", len(cfg.Workloads))
	}
}

// TestYAMLOverCap: a YAML file over its cap is a config error found by a
// stat, not a read.
func TestYAMLOverCap(t *testing.T) {
	dir := writeRepo(t, map[string]string{"targets/a.yaml": target, "workloads/huge.yaml": "", "policies/huge.rego": ""})
	for p, size := range map[string]int64{"workloads/huge.yaml": int64(meridian.MaxYAMLBytes) + 1, "policies/huge.rego": int64(meridian.MaxRegoBytes) + 1} {
		if err := os.Truncate(filepath.Join(dir, p), size); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := loadRepo(t, dir, "")
	runtime.ReadMemStats(&after)
	want := []string{
		"policies/huge.rego: file is 4194305 bytes (4.0 MiB), over the 4MiB cap",
		"workloads/huge.yaml: file is 16777217 bytes (16.0 MiB), over the 16MiB cap",
	}
	if diff := cmp.Diff(want, configErrors(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("loading allocated %d bytes: oversized files must not be read", alloc)
	}
}
