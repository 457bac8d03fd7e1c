package deploy_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
)

func fileKeys(fs []meridian.DeployFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Action+" "+f.Path)
	}
	return out
}

// TestPreview is the deploy-repo diff `meridian plan` shows: it must match
// what the next apply commits, and write nothing.
func TestPreview(t *testing.T) {
	dir := newBareRepo(t) + "-not-yet"
	cfg := loadConfig(t)
	cfg.Settings.Deploy.Repo = dir
	ctx := context.Background()
	store := &deploy.MemStore{}
	opts := deploy.Options{Store: store, Now: (&clock{now: t0}).Now}

	d := deploy.Preview(ctx, cfg, basicPlan(), opts)
	if d.Error != "" || d.Base != "" || len(d.Files) != 20 {
		t.Fatalf("preview of a missing repo: error %q, base %q, %d files; want 20 files added", d.Error, d.Base, len(d.Files))
	}
	for _, f := range d.Files {
		if f.Action != meridian.DeployAdd || !strings.HasPrefix(f.Path, "clusters/prod/") || !strings.HasPrefix(f.Diff, "--- /dev/null\n+++ b/"+f.Path+"\n@@ -0,0 +1,") {
			t.Errorf("%s: want an added file under clusters/prod with a unified diff, got %s\n%s", f.Path, f.Action, f.Diff)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a preview must not create the deploy repo: %v", err)
	}

	res, err := deploy.Apply(ctx, cfg, basicPlan(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fileKeys(d.Files), fileKeys(res.Files)); diff != "" {
		t.Errorf("preview and apply disagree (-preview +apply):\n%s", diff)
	}

	// A move: the preview shows the new Application and the held one.
	d = deploy.Preview(ctx, cfg, movedPlan(), opts)
	if diff := cmp.Diff([]string{"add clusters/prod/apps/web/onprem-fra.yaml"}, fileKeys(d.Files)); diff != "" {
		t.Errorf("move preview files (-want +got):\n%s", diff)
	}
	// The held placement lists what the move removes once it completes,
	// with its Crossplane resources: a decommissioned target's plan shows
	// them as destroyed.
	want := []meridian.HeldPlacement{{Workload: "web", Target: "azure-westeurope", Until: []string{"onprem-fra"},
		Files: []string{"clusters/prod/apps/web/azure-westeurope.infra.yaml", "clusters/prod/apps/web/azure-westeurope.yaml",
			"clusters/prod/infra/web/azure-westeurope/rg.yaml", "clusters/prod/infra/web/azure-westeurope/vault.yaml"},
		Resources: []meridian.DeployResource{
			{APIVersion: "azure.m.upbound.io/v1beta1", Kind: "ResourceGroup", Namespace: "infra-shop", Name: "web.azure-westeurope.rg", DeletionPolicy: meridian.DeletionDelete},
			{APIVersion: "keyvault.azure.m.upbound.io/v1beta1", Kind: "Vault", Namespace: "infra-shop", Name: "web.azure-westeurope.vault", DeletionPolicy: meridian.DeletionDelete},
		}}}
	if diff := cmp.Diff(want, d.Held); diff != "" {
		t.Errorf("move preview held (-want +got):\n%s", diff)
	}
	if d.Base != res.Commits[0].SHA {
		t.Errorf("base %q, want the last commit %q", d.Base, res.Commits[0].SHA)
	}

	// A replica change is a one-line change with context.
	p := basicPlan()
	p.Placements[0].Replicas = 4
	d = deploy.Preview(ctx, cfg, p, opts)
	if len(d.Files) != 1 {
		t.Fatalf("want one changed file, got %v", fileKeys(d.Files))
	}
	wantDiff := `--- a/clusters/prod/apps/api/aws-eu-west-1.yaml
+++ b/clusters/prod/apps/api/aws-eu-west-1.yaml
@@ -19,7 +19,7 @@
     helm:
       releaseName: api
       valuesObject:
-        replicaCount: 3
+        replicaCount: 4
   destination:
     name: eks-eu-west-1
     namespace: api
`
	if diff := cmp.Diff(wantDiff, d.Files[0].Diff); diff != "" {
		t.Errorf("unified diff (-want +got):\n%s", diff)
	}
	if f := d.Files[0]; f.Workload != "api" || f.Target != "aws-eu-west-1" || f.Action != meridian.DeployChange {
		t.Errorf("file attribution: %+v", f)
	}
}
