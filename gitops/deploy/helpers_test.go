package deploy_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// loadConfig parses testdata/config, a small repo with a target of every
// kind: AWS, Azure and GCP with Crossplane, on-prem with Terraform, and
// on-prem with the user's own XRD.
func loadConfig(t testing.TB) *meridian.Config {
	t.Helper()
	cfg, err := config.Load(os.DirFS(filepath.Join("testdata", "config")))
	if err != nil {
		t.Fatalf("testdata/config must be valid:\n%v", err)
	}
	return cfg
}

// basicPlan places every workload of testdata/config; it stands in for the
// planner so that these tests do not move when the scheduler does.
func basicPlan() *meridian.Plan {
	return &meridian.Plan{
		ID: "0123456789abcdef", Commit: "c0ffee0000000000000000000000000000000000",
		Placements: []meridian.Placement{
			{Workload: "api", Target: "aws-eu-west-1", Replicas: 3},
			{Workload: "api", Target: "gcp-europe-west1", Replicas: 3},
			{Workload: "batch", Target: "onprem-ber", Replicas: 1},
			{Workload: "batch", Target: "onprem-fra", Replicas: 1},
			{Workload: "legacy", Target: "onprem-fra", Replicas: 1},
			{Workload: "web", Target: "azure-westeurope", Replicas: 2},
		},
	}
}

// withPlacements returns a copy of p with other placements and ID.
func withPlacements(p *meridian.Plan, id string, pls ...meridian.Placement) *meridian.Plan {
	q := *p
	q.ID = id
	q.Placements = pls
	return &q
}

// goldenTree compares a tree with the folder dir file by file, or rewrites
// the folder with -update.
func goldenTree(t *testing.T, dir string, got deploy.Tree) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := got.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readTree(t, dir)
	if len(want) == 0 {
		t.Fatalf("%s is empty (run go test -update to create it)", dir)
	}
	if diff := cmp.Diff(want.Paths(), got.Paths()); diff != "" {
		t.Errorf("%s: files differ (-want +got):\n%s", dir, diff)
	}
	for _, p := range got.Paths() {
		if w, ok := want[p]; ok && !bytes.Equal(w, got[p]) {
			t.Errorf("%s/%s differs from golden (-want +got):\n%s", dir, p, cmp.Diff(string(w), string(got[p])))
		}
	}
}

// readTree reads every file below dir.
func readTree(t testing.TB, dir string) deploy.Tree {
	t.Helper()
	out := deploy.Tree{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// findingKeys summarises findings as "rule workload target severity".
func findingKeys(fs []meridian.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.Join([]string{f.Rule, f.Workload, f.Target, string(f.Severity)}, " "))
	}
	sort.Strings(out)
	return out
}
