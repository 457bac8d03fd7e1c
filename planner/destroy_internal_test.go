package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestDestroyPlan(t *testing.T) {
	cfg := &meridian.Config{
		Targets:   []meridian.Target{{Name: "east"}, {Name: "gitops"}},
		Workloads: []meridian.Workload{{Name: "api"}},
	}
	bucket := &meridian.DeployResource{APIVersion: "s3.aws.m.upbound.io/v1beta1", Kind: "Bucket", Namespace: "web", Name: "web.old.bucket", DeletionPolicy: meridian.DeletionDelete}
	key := meridian.DeployResource{APIVersion: "kms.gcp.m.upbound.io/v1beta1", Kind: "KeyRing", Namespace: "api", Name: "api.old.keyring", DeletionPolicy: meridian.DeletionOrphan}
	cases := map[string]struct {
		reason  string
		current map[string][]string
		plan    meridian.Plan
		want    []meridian.DestroyItem
	}{
		"nothing left the config": {
			reason:  "a plan whose ledger and deploy repo hold only configured names destroys nothing, and says nothing",
			current: map[string][]string{"api": {"east"}},
			plan: meridian.Plan{Terraform: []meridian.TargetChange{{Target: "east", Status: meridian.ChangeStatusChanges, Destroy: []string{`terraform_data.deployment["web"]`}}},
				Deploy: &meridian.DeployDiff{Files: []meridian.DeployFile{{Path: "apps/api/gitops.yaml", Action: meridian.DeployRemove, Workload: "api", Target: "gitops"}}}},
		},
		"removed target": {
			reason:  "a removed Terraform target shows its whole destroy plan, its pruned files and their Crossplane resources",
			current: map[string][]string{"api": {"old"}},
			plan: meridian.Plan{
				Terraform: []meridian.TargetChange{{Target: "old", Status: meridian.ChangeStatusChanges, Decommission: true,
					Destroy: []string{`terraform_data.key["api"]`, `terraform_data.log_group["api"]`}}},
				Deploy: &meridian.DeployDiff{Files: []meridian.DeployFile{
					{Path: "p/apps/api/old.yaml", Action: meridian.DeployRemove, Workload: "api", Target: "old"},
					{Path: "p/apps/api/east.yaml", Action: meridian.DeployAdd, Workload: "api", Target: "east"},
				}, Held: []meridian.HeldPlacement{{Workload: "api", Target: "old", Until: []string{"east"},
					Files: []string{"p/infra/api/old/keyring.yaml"}, Resources: []meridian.DeployResource{key}}}},
			},
			want: []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "old", Reason: meridian.DestroyRemoved,
				Terraform:   []meridian.DestroyTerraform{{Target: "old", Resources: 2, Addresses: []string{`terraform_data.key["api"]`, `terraform_data.log_group["api"]`}}},
				DeployFiles: []string{"p/apps/api/old.yaml"}, Moving: []string{"p/infra/api/old/keyring.yaml"}, Crossplane: []meridian.DeployResource{key}}},
		},
		"engine changed": {
			reason: "a target still configured whose Terraform workspace is destroyed says why",
			plan:   meridian.Plan{Terraform: []meridian.TargetChange{{Target: "gitops", Status: meridian.ChangeStatusNoChanges, Decommission: true, Destroy: []string{}}}},
			want: []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "gitops", Reason: meridian.DestroyNoTerraform,
				Terraform: []meridian.DestroyTerraform{{Target: "gitops", Addresses: []string{}}}}},
		},
		"removed workload": {
			reason:  "a removed workload's resources are those keyed by its name on each target it ran on, plus its files",
			current: map[string][]string{"web": {"east", "gitops"}, "api": {"east"}},
			plan: meridian.Plan{
				Terraform: []meridian.TargetChange{{Target: "east", Status: meridian.ChangeStatusChanges,
					Destroy: []string{`terraform_data.deployment["web"]`, `module.m.aws_s3_bucket.b["web"] (deposed 00aa)`, `terraform_data.deployment["other"]`}}},
				Deploy: &meridian.DeployDiff{Files: []meridian.DeployFile{
					{Path: "infra/web/gitops/bucket.yaml", Action: meridian.DeployRemove, Workload: "web", Target: "gitops", Resource: bucket},
					{Path: "apps/web/gitops.yaml", Action: meridian.DeployRemove, Workload: "web", Target: "gitops"},
				}},
			},
			want: []meridian.DestroyItem{{Kind: meridian.DestroyWorkload, Name: "web", Reason: meridian.DestroyRemoved,
				Terraform: []meridian.DestroyTerraform{{Target: "east", Resources: 2,
					Addresses: []string{`terraform_data.deployment["web"]`, `module.m.aws_s3_bucket.b["web"] (deposed 00aa)`}}},
				DeployFiles: []string{"apps/web/gitops.yaml", "infra/web/gitops/bucket.yaml"}, Crossplane: []meridian.DeployResource{*bucket}}},
		},
		"workload only in the deploy repo": {
			reason: "a GitOps-only workload has no ledger rows: its files in the deploy repo are what runs",
			plan: meridian.Plan{Deploy: &meridian.DeployDiff{Files: []meridian.DeployFile{
				{Path: "apps/batch/gitops.yaml", Action: meridian.DeployRemove, Workload: "batch", Target: "gitops"}}}},
			want: []meridian.DestroyItem{{Kind: meridian.DestroyWorkload, Name: "batch", Reason: meridian.DestroyRemoved, DeployFiles: []string{"apps/batch/gitops.yaml"}}},
		},
		"protected target": {
			reason:  "a protected target the Terraform stage listed stays protected, with nothing listed to destroy, and comes before workloads",
			current: map[string][]string{"api": {"vault"}, "gone": {"vault"}},
			plan: meridian.Plan{
				Destroy: []meridian.DestroyItem{{Kind: meridian.DestroyTarget, Name: "vault", Reason: meridian.DestroyRemoved, Protected: true}},
				Deploy: &meridian.DeployDiff{Files: []meridian.DeployFile{{Path: "apps/gone/vault.yaml", Action: meridian.DeployRemove, Workload: "gone", Target: "vault"}},
					Held: []meridian.HeldPlacement{{Workload: "api", Target: "vault", Files: []string{"apps/api/vault.yaml"}}}},
			},
			want: []meridian.DestroyItem{
				{Kind: meridian.DestroyTarget, Name: "vault", Reason: meridian.DestroyRemoved, Protected: true},
				{Kind: meridian.DestroyWorkload, Name: "gone", Reason: meridian.DestroyRemoved, DeployFiles: []string{"apps/gone/vault.yaml"}},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := tc.plan
			destroyPlan(cfg, tc.current, &p)
			if diff := cmp.Diff(tc.want, p.Destroy); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestNeedsDestroyConsent(t *testing.T) {
	p := meridian.Plan{Destroy: []meridian.DestroyItem{
		{Kind: meridian.DestroyTarget, Name: "kept", Protected: true, DeployFiles: []string{"apps/a/kept.yaml"}},
		{Kind: meridian.DestroyTarget, Name: "empty", Terraform: []meridian.DestroyTerraform{{Target: "empty", Error: "no backend"}}},
		{Kind: meridian.DestroyTarget, Name: "moving", Moving: []string{"apps/a/moving.yaml"}},
		{Kind: meridian.DestroyWorkload, Name: "w", Terraform: []meridian.DestroyTerraform{{Target: "east", Resources: 1}}},
	}}
	var got []string
	for _, d := range p.NeedsDestroyConsent() {
		got = append(got, d.Key())
	}
	// Protected items and items with nothing found to destroy need no
	// consent; files a move removes later do.
	if diff := cmp.Diff([]string{"target/moving", "workload/w"}, got); diff != "" {
		t.Errorf("items needing consent (-want +got):\n%s", diff)
	}
}
