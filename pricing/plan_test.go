package pricing_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/planner"
	"github.com/meridianhq/meridian/pricing"
	"github.com/meridianhq/meridian/providers"
)

const planTargets = `apiVersion: meridian/v1
kind: Target
name: gcp-usc1
provider: gcp
region: us-central1
jurisdiction: us
encryption: {kms: gcp-kms}
log_retention_max_days: 3653
pricing: {catalog: true}
---
apiVersion: meridian/v1
kind: Target
name: gcp-euw1
provider: gcp
region: europe-west1
jurisdiction: eu
encryption: {kms: gcp-kms}
log_retention_max_days: 3653
pricing: {catalog: true}
---
apiVersion: meridian/v1
kind: Target
name: aws-use1
provider: aws
region: us-east-1
jurisdiction: us
encryption: {kms: aws-kms}
log_retention_max_days: 3653
pricing: {catalog: true}
`

// Spread over all three targets, so every target carries one placement
// whatever the prices, and the comparison is of costs on fixed targets.
const planWorkload = `apiVersion: meridian/v1
kind: Workload
name: api
tags: {owner: a, cost-center: b, env: prod}
replicas: {min: 3, max: 3}
per_replica: {vcpu: 1, memory_gib: 4, capacity: 10}
storage_gb: 200
egress_gb_month: 300
requires: {spread: 3}
`

func planRepo(t *testing.T, settings string, catalog []byte) (*meridian.Plan, *meridian.Config) {
	t.Helper()
	fsys := fstest.MapFS{
		"targets/all.yaml":   {Data: []byte(planTargets)},
		"workloads/api.yaml": {Data: []byte(planWorkload)},
		"meridian.yaml":      {Data: []byte("apiVersion: meridian/v1\nkind: Settings\ncurrency: USD\n" + settings)},
	}
	if catalog != nil {
		fsys["prices/catalog.json"] = &fstest.MapFile{Data: catalog}
	}
	cfg, err := config.Load(fsys)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	p, err := planner.New(planner.WithSizer(planner.MinSizer{}))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Commit: "c0ffee"})
	if err != nil {
		t.Fatal(err)
	}
	return pl, cfg
}

// TestPlanWithRefreshedCatalog plans the same repo with the embedded
// catalog and with one refreshed from the recorded GCP SKUs, which price
// us-central1 disks at 0.04 per GiB-month instead of pd-balanced's 0.10
// and leave compute and egress as they are. Only that placement's storage
// cost may move; the plan ID must change.
func TestPlanWithRefreshedCatalog(t *testing.T) {
	fresh := gcpRefreshed(t)
	b, err := fresh.File().Encode()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := providers.DefaultCatalog()
	changes := pricing.Changes(base, fresh)
	if len(changes) != 1 || changes[0].Region != "us-central1" || changes[0].Rate != "storage_gb_month" {
		t.Fatalf("changes = %+v, want only gcp/us-central1 storage", changes)
	}

	embedded, _ := planRepo(t, "", nil)
	refreshed, cfg := planRepo(t, "pricing:\n  catalog: ./prices/catalog.json\n", b)
	if cfg.Settings.Pricing.Catalog != "prices/catalog.json" {
		t.Errorf("pricing.catalog = %q, want the cleaned path", cfg.Settings.Pricing.Catalog)
	}
	if embedded.ID == refreshed.ID {
		t.Error("the plan ID did not change with the prices")
	}
	if !strings.Contains(refreshed.Catalog, "file prices/catalog.json sha256:") {
		t.Errorf("plan catalog provenance = %q, want the file and its digest", refreshed.Catalog)
	}
	if len(embedded.Placements) != 3 || len(refreshed.Placements) != 3 {
		t.Fatalf("placements: %d and %d, want 3 each", len(embedded.Placements), len(refreshed.Placements))
	}
	for i, e := range embedded.Placements {
		r := refreshed.Placements[i]
		if e.Workload != r.Workload || e.Target != r.Target || e.Replicas != r.Replicas {
			t.Fatalf("placement %d moved: %s on %s ×%d vs %s on %s ×%d", i, e.Workload, e.Target, e.Replicas, r.Workload, r.Target, r.Replicas)
		}
		ec, rc := e.Cost, r.Cost
		if e.Target != "gcp-usc1" {
			if e.MonthlyCost != r.MonthlyCost || ec != rc {
				t.Errorf("%s: cost changed from %+v to %+v though its prices did not", e.Target, ec, rc)
			}
			continue
		}
		// 200 GB at 0.10 and 0.04 per GiB-month.
		wantOld, wantNew := 200*0.1/gib, 200*0.04/gib
		if ec.Compute != rc.Compute || ec.Egress != rc.Egress {
			t.Errorf("gcp-usc1: compute or egress changed: %+v vs %+v", ec, rc)
		}
		approx(t, "embedded storage", float64(ec.Storage), wantOld)
		approx(t, "refreshed storage", float64(rc.Storage), wantNew)
	}
}

func TestPriceCatalogConfigErrors(t *testing.T) {
	cases := map[string]struct {
		reason   string
		settings string
		catalog  []byte
		want     string
	}{
		"outside": {
			reason:   "The catalog is part of the config: a path out of the repo is refused (issue #8).",
			settings: "pricing:\n  catalog: ../prices.json\n",
			want:     "meridian.yaml:5: pricing.catalog: must be a file inside the config repo",
		},
		"absolute": {
			reason:   "An absolute path would read the server's files.",
			settings: "pricing:\n  catalog: /etc/passwd\n",
			want:     "meridian.yaml:5: pricing.catalog: must be a file inside the config repo",
		},
		"missing": {
			reason:   "A missing file is a config error with the line, not a fallback to the embedded catalog.",
			settings: "pricing:\n  catalog: prices/none.json\n",
			want:     "meridian.yaml:5",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"targets/all.yaml":   {Data: []byte(planTargets)},
				"workloads/api.yaml": {Data: []byte(planWorkload)},
				"meridian.yaml":      {Data: []byte("apiVersion: meridian/v1\nkind: Settings\ncurrency: USD\n" + tc.settings)},
			}
			_, err := config.Load(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s\nLoad error = %v, want it to contain %q", tc.reason, err, tc.want)
			}
		})
	}
	t.Run("bad content", func(t *testing.T) {
		// A catalog whose rows do not check fails the plan naming the
		// setting's line and the problem.
		p, err := planner.New()
		if err != nil {
			t.Fatal(err)
		}
		fsys := fstest.MapFS{
			"targets/all.yaml":    {Data: []byte(planTargets)},
			"workloads/api.yaml":  {Data: []byte(planWorkload)},
			"meridian.yaml":       {Data: []byte("apiVersion: meridian/v1\nkind: Settings\ncurrency: USD\npricing:\n  catalog: prices/catalog.json\n")},
			"prices/catalog.json": {Data: []byte(`{"name":"x","version":"1","currency":"EUR","rows":[]}`)},
		}
		cfg, err := config.Load(fsys)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys})
		if err == nil || !strings.Contains(err.Error(), "meridian.yaml:5: pricing.catalog: prices/catalog.json: parse catalog") ||
			!strings.Contains(err.Error(), "currency") {
			t.Errorf("Plan error = %v, want the line, file and the currency problem", err)
		}
	})
}

// TestPriceCatalogLinkOutOfRepo reads a config folder whose catalog is a
// symbolic link to a file outside it: the repo's file system refuses it.
func TestPriceCatalogLinkOutOfRepo(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{
		"targets/all.yaml":   planTargets,
		"workloads/api.yaml": planWorkload,
		"meridian.yaml":      "apiVersion: meridian/v1\nkind: Settings\ncurrency: USD\npricing:\n  catalog: prices/catalog.json\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := providers.DefaultCatalog()
	b, err := base.File().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "catalog.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "prices"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "catalog.json"), filepath.Join(dir, "prices", "catalog.json")); err != nil {
		t.Fatal(err)
	}
	snap, err := gitops.Load(context.Background(), dir, "", gitops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(snap.FS)
	if err == nil || !strings.Contains(err.Error(), "meridian.yaml:5: pricing.catalog: prices/catalog.json") {
		t.Fatalf("Load error = %v, want the link refused at meridian.yaml:5", err)
	}
}
