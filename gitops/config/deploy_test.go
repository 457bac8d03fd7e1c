package config_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
)

const (
	deployTarget = `apiVersion: meridian/v1
kind: Target
name: azure-weu
provider: azure
region: westeurope
jurisdiction: eu
log_retention_max_days: 365
pricing: {catalog: true}
engine: crossplane
`
	deployWorkload = `apiVersion: meridian/v1
kind: Workload
name: api
tags: {owner: a, cost-center: "1", env: prod}
replicas: {min: 2}
per_replica: {vcpu: 1, memory_gib: 2}
`
)

func loadErrors(t *testing.T, files map[string]string) (*meridian.Config, []string) {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	cfg, err := config.Load(fsys)
	var got []string
	var ces meridian.ConfigErrors
	if errors.As(err, &ces) {
		for _, e := range ces {
			got = append(got, e.Error())
		}
	} else if err != nil {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	return cfg, got
}

func TestDeployConfigErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		files  map[string]string
		want   []string
	}{
		"valid": {
			reason: "every deploy field at once, all valid",
			files: map[string]string{
				"meridian.yaml": `apiVersion: meridian/v1
kind: Settings
deploy: {repo: git@github.com:org/deploy.git, branch: main, path: clusters/prod, move_grace: 15m}
argocd: {server: https://argocd.example.com, token_env: ARGO_TOKEN, project: platform, namespace: argocd, sync_options: [CreateNamespace=true], health_timeout: 3m}
`,
				"targets/a.yaml": deployTarget + `destination: {name: aks-weu, namespace: shop}
crossplane:
  tenant_id: 3f1c2a9e-5b7d-4e21-9a4c-6d8e0f2b1a37
  provider_config: {kind: ProviderConfig, name: prod}
  destination: {server: https://kubernetes.default.svc}
`,
				"workloads/api.yaml": deployWorkload + `source: {repo_url: https://git.example.com/api.git, path: chart, revision: v1, kind: helm, replicas_key: app.replicas}
`,
			},
		},
		"settings": {
			reason: "bad deploy and argocd settings name their field and line",
			files: map[string]string{
				"meridian.yaml": `apiVersion: meridian/v1
kind: Settings
deploy:
  branch: "bad..branch"
  path: ../outside
  move_grace: forever
argocd:
  server: argocd.example.com
  token_env: "ARGO-TOKEN"
  sync_options: [CreateNamespace]
`,
			},
			want: []string{
				`meridian.yaml:4: deploy.branch: not a valid Git branch name: "bad..branch"`,
				`meridian.yaml:5: deploy.path: must be a relative folder with forward slashes and no . or .. parts, got "../outside"`,
				`meridian.yaml:6: deploy.move_grace: must be a positive duration such as 4h or 30m, got "forever"`,
				`meridian.yaml:8: argocd.server: must be an http(s) URL without credentials, such as https://argocd.example.com`,
				`meridian.yaml:9: argocd.token_env: must be an environment variable name, got "ARGO-TOKEN"`,
				`meridian.yaml:10: argocd.sync_options.0: must be Name=value, such as CreateNamespace=true, got "CreateNamespace"`,
			},
		},
		"crossplane needs tenant": {
			reason: "an Azure crossplane target needs the tenant its Key Vaults belong to",
			files:  map[string]string{"targets/a.yaml": deployTarget},
			want:   []string{`targets/a.yaml:1: crossplane.tenant_id: required for Azure targets with engine: crossplane: Key Vaults are bound to a tenant`},
		},
		"destination": {
			reason: "server and name exclude each other; namespaces are DNS labels",
			files: map[string]string{"targets/a.yaml": deployTarget + `destination: {server: https://x.example.com, name: x, namespace: Shop_1}
crossplane: {tenant_id: 3f1c2a9e-5b7d-4e21-9a4c-6d8e0f2b1a37, project: my-project-1}
`},
			want: []string{
				`targets/a.yaml:10: destination: give server or name, not both`,
				`targets/a.yaml:10: destination.namespace: must be a namespace name (DNS label), got "Shop_1"`,
				`targets/a.yaml:11: crossplane.project: only applies to GCP targets`,
			},
		},
		"crossplane on terraform target": {
			reason: "a crossplane block on a terraform target is a mistake, not silently ignored",
			files: map[string]string{"targets/a.yaml": `apiVersion: meridian/v1
kind: Target
name: dc1
provider: onprem
region: dc1
jurisdiction: eu
log_retention_max_days: 365
capacity: {vcpu: 8, memory_gib: 32}
pricing: {vcpu_hour: 0.02, gib_hour: 0.003, egress_gb: 0.02, storage_gb_month: 0.04}
crossplane: {composite: {api_version: platform.example.org/v1alpha1, kind: WorkloadInfra}}
`},
			want: []string{`targets/a.yaml:10: crossplane: only applies to targets with engine: crossplane`},
		},
		"onprem crossplane needs composite": {
			reason: "Meridian has no built-in managed resources for on-prem: the user's XRD is required",
			files: map[string]string{"targets/a.yaml": `apiVersion: meridian/v1
kind: Target
name: dc1
provider: onprem
region: dc1
jurisdiction: eu
log_retention_max_days: 365
capacity: {vcpu: 8, memory_gib: 32}
pricing: {vcpu_hour: 0.02, gib_hour: 0.003, egress_gb: 0.02, storage_gb_month: 0.04}
engine: crossplane
crossplane: {composite: {api_version: v1, kind: workloadInfra}}
`},
			want: []string{
				`targets/a.yaml:11: crossplane.composite.api_version: must be group/version of your XRD, such as platform.example.org/v1alpha1, got "v1"`,
				`targets/a.yaml:11: crossplane.composite.kind: must be the XRD's kind in CamelCase, got "workloadInfra"`,
			},
		},
		"source": {
			reason: "a source needs a repo, a known kind, and the fields that kind uses",
			files: map[string]string{
				"workloads/a.yaml": deployWorkload + "source: {path: /abs, kind: jsonnet}\n",
				"workloads/b.yaml": strings.Replace(deployWorkload, "name: api", "name: b", 1) + "source: {repo_url: https://c.example.com, kind: helm}\n",
				"workloads/c.yaml": strings.Replace(deployWorkload, "name: api", "name: c", 1) + "source: {repo_url: https://g.example.com/c.git, kind: kustomize, chart: c}\n",
			},
			want: []string{
				`workloads/a.yaml:7: source.kind: must be helm or kustomize, got "jsonnet"`,
				`workloads/a.yaml:7: source.path: must be relative to the repository root, got "/abs"`,
				`workloads/a.yaml:7: source.repo_url: required: the Git or Helm repository Argo CD reads the workload from`,
				`workloads/b.yaml:7: source: a helm source needs path (chart in a Git repository) or chart (in a Helm repository), not both`,
				`workloads/c.yaml:7: source.chart: only applies to helm sources`,
				`workloads/c.yaml:7: source.path: required for a kustomize source: the folder holding kustomization.yaml`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, got := loadErrors(t, tc.files)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDeployConfigDecodes(t *testing.T) {
	cfg, errs := loadErrors(t, map[string]string{
		"meridian.yaml":      "apiVersion: meridian/v1\nkind: Settings\ndeploy: {path: gitops, move_grace: 30m}\nargocd: {sync_options: [Validate=false]}\n",
		"targets/a.yaml":     deployTarget + "crossplane: {tenant_id: 3f1c2a9e-5b7d-4e21-9a4c-6d8e0f2b1a37}\ndestination: {name: aks}\n",
		"workloads/api.yaml": deployWorkload + "source: {repo_url: https://g.example.com/api.git, path: k, kind: kustomize}\n",
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := cfg.Settings.Deploy; got.Path != "gitops" || got.MoveGrace != 30*time.Minute {
		t.Errorf("deploy settings: %+v", got)
	}
	if diff := cmp.Diff([]string{"Validate=false"}, cfg.Settings.ArgoCD.SyncOptions); diff != "" {
		t.Errorf("sync options (-want +got):\n%s", diff)
	}
	want := &meridian.Source{RepoURL: "https://g.example.com/api.git", Path: "k", Kind: meridian.SourceKustomize}
	if diff := cmp.Diff(want, cfg.Workloads[0].Source); diff != "" {
		t.Errorf("source (-want +got):\n%s", diff)
	}
	if cfg.Targets[0].Destination.Name != "aks" || cfg.Targets[0].Crossplane.TenantID == "" {
		t.Errorf("target deploy fields: %+v %+v", cfg.Targets[0].Destination, cfg.Targets[0].Crossplane)
	}
}
