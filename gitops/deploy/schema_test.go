package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/deploy/internal/crdcheck"
)

var (
	validatorOnce sync.Once
	validator     *crdcheck.Validator
	validatorErr  error
)

// crds returns a validator for every CRD in testdata/schemas (Argo CD's
// Application, Crossplane's XRD and Composition, the upjet providers'
// managed resources) plus the CRD of the example XRD in testdata/xrd.
func crds(t testing.TB) *crdcheck.Validator {
	t.Helper()
	validatorOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join("testdata", "schemas", "*.yaml"))
		if err != nil || len(files) < 12 {
			validatorErr = err
			if err == nil {
				validatorErr = os.ErrNotExist
			}
			return
		}
		if validator, validatorErr = crdcheck.Load(files...); validatorErr != nil {
			return
		}
		xrd, err := os.ReadFile(filepath.Join("testdata", "xrd", "workloadinfra.xrd.yaml"))
		if err != nil {
			validatorErr = err
			return
		}
		crd, err := crdcheck.CRDFromXRD(xrd)
		if err != nil {
			validatorErr = err
			return
		}
		validatorErr = validator.Add(crd)
	})
	if validatorErr != nil {
		t.Fatalf("load CRD schemas: %v", validatorErr)
	}
	return validator
}

// validateTree validates every manifest of a tree and reports each problem
// as a test error: a manifest the API server would reject is a failure.
func validateTree(t *testing.T, name string, tree deploy.Tree) {
	t.Helper()
	v := crds(t)
	if len(tree) == 0 {
		t.Fatalf("%s: nothing to validate", name)
	}
	for _, p := range tree.Paths() {
		for _, e := range v.Validate(context.Background(), tree[p]) {
			t.Errorf("%s/%s: %s", name, p, e)
		}
	}
}

// TestRenderedManifestsValid validates every manifest of the unit-test tree
// against the real CRD schemas, CEL rules included.
func TestRenderedManifestsValid(t *testing.T) {
	r, err := deploy.Render(loadConfig(t), basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	validateTree(t, "basic", r.Tree)
}

// TestExampleManifestsValid validates the example repo's rendered tree,
// which cmd/meridian's render test keeps as a golden folder (it needs the
// planner, which this package does not import).
func TestExampleManifestsValid(t *testing.T) {
	for _, name := range []string{"hybrid", "edge-50"} {
		dir := filepath.Join("..", "..", "cmd", "meridian", "testdata", "render", name)
		tree := readTree(t, dir)
		if len(tree) < 20 {
			t.Fatalf("%s holds %d files; run go test ./cmd/meridian -run TestRender -update", dir, len(tree))
		}
		validateTree(t, "examples/"+name, tree)
	}
}

// TestExampleXRDValid checks that the example XRD and Composition that the
// docs show are valid Crossplane objects.
func TestExampleXRDValid(t *testing.T) {
	validateTree(t, "xrd", readTree(t, filepath.Join("testdata", "xrd")))
}

// TestValidatorRejects proves the validation can fail: each case breaks one
// rendered manifest the way a renderer bug would.
func TestValidatorRejects(t *testing.T) {
	r, err := deploy.Render(loadConfig(t), basicPlan(), deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason string
		file   string
		edit   func(obj map[string]any)
		want   string
	}{
		"CEL required parameter": {
			reason: "a Key Vault without tenantId breaks the provider's CEL rule",
			file:   "infra/web/azure-westeurope/vault.yaml",
			edit:   func(o map[string]any) { delete(forProvider(o), "tenantId") },
			want:   "spec.forProvider.tenantId is a required parameter",
		},
		"schema required": {
			reason: "an S3 bucket without region misses a schema-required field",
			file:   "infra/api/aws-eu-west-1/bucket.yaml",
			edit:   func(o map[string]any) { delete(forProvider(o), "region") },
			want:   "spec.forProvider.region: Required value",
		},
		"unknown field": {
			reason: "a misspelt field is rejected by strict field validation, not silently dropped",
			file:   "infra/api/aws-eu-west-1/logs.yaml",
			edit:   func(o map[string]any) { forProvider(o)["retentionDays"] = 30 },
			want:   "spec.forProvider.retentionDays",
		},
		"wrong type": {
			reason: "replicas must be a number in Kustomize's replicas list",
			file:   "apps/web/azure-westeurope.yaml",
			edit: func(o map[string]any) {
				o["spec"].(map[string]any)["source"].(map[string]any)["kustomize"] = map[string]any{"replicas": []any{map[string]any{"name": "x", "count": true}}}
			},
			want: "count",
		},
		"bad name": {
			reason: "an Application name must be a DNS subdomain",
			file:   "apps/api/aws-eu-west-1.yaml",
			edit:   func(o map[string]any) { o["metadata"].(map[string]any)["name"] = "Api_AWS" },
			want:   "metadata.name",
		},
		"missing destination": {
			reason: "an Application needs a destination",
			file:   "root.yaml",
			edit:   func(o map[string]any) { delete(o["spec"].(map[string]any), "destination") },
			want:   "spec.destination: Required value",
		},
		"cluster scope": {
			reason: "a namespaced managed resource without a namespace is refused",
			file:   "infra/api/gcp-europe-west1/keyring.yaml",
			edit:   func(o map[string]any) { delete(o["metadata"].(map[string]any), "namespace") },
			want:   "metadata.namespace: Required value",
		},
	}
	v := crds(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal(r.Tree[tc.file], &obj); err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			if errs := v.Validate(context.Background(), r.Tree[tc.file]); len(errs) != 0 {
				t.Fatalf("%s is invalid before the edit: %v", tc.file, errs)
			}
			tc.edit(obj)
			b, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			errs := v.Validate(context.Background(), b)
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("%s: want an error containing %q, got %q", tc.reason, tc.want, errs)
			}
		})
	}
}

func forProvider(o map[string]any) map[string]any {
	return o["spec"].(map[string]any)["forProvider"].(map[string]any)
}
