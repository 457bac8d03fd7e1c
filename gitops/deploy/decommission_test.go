package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// TestRemovedResourcePolicy: a removed Crossplane resource says whether
// deleting it deletes the cloud resource, read from the file the deploy
// repo held.
func TestRemovedResourcePolicy(t *testing.T) {
	golden := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", "basic", filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mr := func(spec string) []byte {
		return []byte("apiVersion: s3.aws.upbound.io/v1beta1\nkind: Bucket\nmetadata:\n  name: b\nspec:\n" + spec)
	}
	cases := map[string]struct {
		reason string
		path   string
		old    []byte
		want   *meridian.DeployResource
	}{
		"default policies": {"a namespaced managed resource without management policies deletes its cloud resource",
			"infra/api/gcp-europe-west1/bucket.yaml", golden("infra/api/gcp-europe-west1/bucket.yaml"),
			&meridian.DeployResource{APIVersion: "storage.gcp.m.upbound.io/v1beta1", Kind: "Bucket", Namespace: "api", Name: "api.gcp-europe-west1.bucket", DeletionPolicy: meridian.DeletionDelete}},
		"orphan policies": {"the GCP key ring Meridian renders without Delete is orphaned",
			"infra/api/gcp-europe-west1/keyring.yaml", golden("infra/api/gcp-europe-west1/keyring.yaml"),
			&meridian.DeployResource{APIVersion: "kms.gcp.m.upbound.io/v1beta1", Kind: "KeyRing", Namespace: "api", Name: "api.gcp-europe-west1.keyring", DeletionPolicy: meridian.DeletionOrphan}},
		"all": {"management policy * includes Delete", "infra/w/t/b.yaml", mr("  managementPolicies: ['*']\n"),
			&meridian.DeployResource{APIVersion: "s3.aws.upbound.io/v1beta1", Kind: "Bucket", Name: "b", DeletionPolicy: meridian.DeletionDelete}},
		"explicit delete": {"a policy list with Delete deletes", "infra/w/t/b.yaml", mr("  managementPolicies: [Observe, Delete]\n"),
			&meridian.DeployResource{APIVersion: "s3.aws.upbound.io/v1beta1", Kind: "Bucket", Name: "b", DeletionPolicy: meridian.DeletionDelete}},
		"v1 orphan": {"a cluster-scoped (v1) managed resource's deletionPolicy Orphan is honoured", "infra/w/t/b.yaml", mr("  deletionPolicy: Orphan\n"),
			&meridian.DeployResource{APIVersion: "s3.aws.upbound.io/v1beta1", Kind: "Bucket", Name: "b", DeletionPolicy: meridian.DeletionOrphan}},
		"application": {"an Argo CD Application is no Crossplane resource", "apps/api/gcp-europe-west1.yaml", golden("apps/api/gcp-europe-west1.yaml"), nil},
		"not yaml":    {"a file that does not parse is listed as a file only", "infra/w/t/x.yaml", []byte("kind: [\n"), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files := deploy.Diff(deploy.Tree{tc.path: tc.old}, deploy.Tree{}, "")
			if len(files) != 1 || files[0].Action != meridian.DeployRemove {
				t.Fatalf("diff of a removed file: %+v", files)
			}
			if diff := cmp.Diff(tc.want, files[0].Resource); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestProtectedTargetKeepsFiles: a protected target that leaves the plan
// (meridian.Plan.ProtectedTargets) keeps every file in the deploy repo:
// no move away from it is started, and no apply ever removes them.
func TestProtectedTargetKeepsFiles(t *testing.T) {
	cfg := loadConfig(t)
	cfg.Settings.Deploy.Repo = newBareRepo(t)
	ctx := context.Background()
	clk := &clock{now: t0}
	opts := deploy.Options{Store: &deploy.MemStore{}, Now: clk.Now}
	if _, err := deploy.Apply(ctx, cfg, basicPlan(), opts); err != nil {
		t.Fatal(err)
	}
	// web leaves azure-westeurope, which left the config protected.
	moved := withPlacements(basicPlan(), "1111111111111111",
		meridian.Placement{Workload: "api", Target: "aws-eu-west-1", Replicas: 3},
		meridian.Placement{Workload: "api", Target: "gcp-europe-west1", Replicas: 3},
		meridian.Placement{Workload: "batch", Target: "onprem-ber", Replicas: 1},
		meridian.Placement{Workload: "batch", Target: "onprem-fra", Replicas: 1},
		meridian.Placement{Workload: "legacy", Target: "onprem-fra", Replicas: 1},
		meridian.Placement{Workload: "web", Target: "onprem-fra", Replicas: 2})
	protected := *moved
	protected.Destroy = []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "azure-westeurope", Reason: meridian.DestroyRemoved, Protected: true}}

	d := deploy.Preview(ctx, cfg, &protected, opts)
	if diff := cmp.Diff([]string{"add clusters/prod/apps/web/onprem-fra.yaml"}, fileKeys(d.Files)); diff != "" || len(d.Held) != 0 {
		t.Errorf("preview with the target protected: held %+v, files (-want +got):\n%s", d.Held, diff)
	}
	for range 2 {
		if _, err := deploy.Apply(ctx, cfg, &protected, opts); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(time.Hour)) // past move_grace: an unprotected move would finish
	}
	if d := deploy.Preview(ctx, cfg, &protected, opts); len(d.Files) != 0 {
		t.Errorf("the deploy repo must still hold the protected target's files: %v", fileKeys(d.Files))
	}
	// Without the protection, the same plan removes them: web already runs
	// on its new target.
	d = deploy.Preview(ctx, cfg, moved, opts)
	want := []string{"remove clusters/prod/apps/web/azure-westeurope.infra.yaml", "remove clusters/prod/apps/web/azure-westeurope.yaml",
		"remove clusters/prod/infra/web/azure-westeurope/rg.yaml", "remove clusters/prod/infra/web/azure-westeurope/vault.yaml"}
	if diff := cmp.Diff(want, fileKeys(d.Files)); diff != "" {
		t.Errorf("unprotected (-want +got):\n%s", diff)
	}
}

// FuzzRemovedResource: a removed file of the deploy repo, which anyone who
// can push to it may have edited, is read without panicking, and a
// resource read from it has one of the two deletion policies.
func FuzzRemovedResource(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Bucket\nmetadata: {name: b}\nspec: {managementPolicies: [Observe]}\n"))
	f.Add([]byte("kind: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, file := range deploy.Diff(deploy.Tree{"infra/w/t/r.yaml": b}, deploy.Tree{}, "") {
			if r := file.Resource; r != nil && r.DeletionPolicy != meridian.DeletionDelete && r.DeletionPolicy != meridian.DeletionOrphan {
				t.Fatalf("deletion policy %q", r.DeletionPolicy)
			}
		}
	})
}
