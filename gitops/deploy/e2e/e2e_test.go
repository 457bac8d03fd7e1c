package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/meridianhq/meridian/kubetest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/gitops/deploy/internal/crdcheck"
)

// cluster is a running API server with the CRDs installed.
type cluster struct {
	cfg      *rest.Config
	warnings *warnings
	dyn      dynamic.Interface
	mapper   meta.RESTMapper
	nsDone   map[string]bool
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	xrd, err := os.ReadFile(filepath.Join("..", "testdata", "xrd", "workloadinfra.xrd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	xrCRD, err := crdcheck.CRDFromXRD(xrd)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(xrCRD, &crd); err != nil {
		t.Fatal(err)
	}
	cfg := kubetest.Start(t, kubetest.Options{
		CRDDirs: []string{filepath.Join("..", "testdata", "schemas")},
		CRDs:    []*apiextensionsv1.CustomResourceDefinition{&crd},
	})
	w := &warnings{seen: map[string]int{}}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandlerWithContext = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{cfg: cfg, warnings: w, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), nsDone: map[string]bool{}}
}

// warnings collects the API server's warnings (deprecations and the like),
// which a valid manifest can still draw.
type warnings struct {
	mu   sync.Mutex
	seen map[string]int
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, code int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[msg]++
}

// apply server-side applies one manifest with strict field validation, as
// a GitOps controller would, creating its namespace first.
func (c *cluster) apply(ctx context.Context, doc []byte) error {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("no API for %s: %w", gvk, err)
	}
	res := c.dyn.Resource(m.Resource)
	var ri dynamic.ResourceInterface = res
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if err := c.namespace(ctx, ns); err != nil {
			return err
		}
		ri = res.Namespace(ns)
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	force := true
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: "meridian-e2e", Force: &force, FieldValidation: "Strict",
	})
	return err
}

func (c *cluster) namespace(ctx context.Context, ns string) error {
	if ns == "" || c.nsDone[ns] {
		return nil
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := c.dyn.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	c.nsDone[ns] = true
	return nil
}

func readTree(t *testing.T, dir string) deploy.Tree {
	t.Helper()
	out := deploy.Tree{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyRenderedManifests applies every rendered manifest: the unit-test
// repo's tree (AWS, Azure and GCP managed resources, a composite resource,
// Helm and Kustomize Applications) and the example repo's golden tree. Any
// manifest the API server rejects fails the test.
func TestApplyRenderedManifests(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cfg, err := config.Load(os.DirFS(filepath.Join("..", "testdata", "config")))
	if err != nil {
		t.Fatal(err)
	}
	plan := &meridian.Plan{ID: "e2e", Placements: []meridian.Placement{
		{Workload: "api", Target: "aws-eu-west-1", Replicas: 3},
		{Workload: "api", Target: "gcp-europe-west1", Replicas: 3},
		{Workload: "batch", Target: "onprem-ber", Replicas: 1},
		{Workload: "batch", Target: "onprem-fra", Replicas: 1},
		{Workload: "web", Target: "azure-westeurope", Replicas: 2},
	}}
	r, err := deploy.Render(cfg, plan, deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	netTree := renderNetwork(t)
	trees := map[string]deploy.Tree{
		"testdata/config":      r.Tree,
		"testdata/network":     netTree,
		"examples/hybrid":      readTree(t, filepath.Join("..", "..", "..", "cmd", "meridian", "testdata", "render", "hybrid")),
		"examples/edge-50":     readTree(t, filepath.Join("..", "..", "..", "cmd", "meridian", "testdata", "render", "edge-50")),
		"testdata/xrd (XRD+C)": readTree(t, filepath.Join("..", "testdata", "xrd")),
	}
	kinds := map[string]int{}
	applied := 0
	names := make([]string, 0, len(trees))
	for n := range trees {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		tree := trees[name]
		if len(tree) == 0 {
			t.Errorf("%s: nothing rendered", name)
		}
		for _, p := range tree.Paths() {
			if err := c.apply(ctx, tree[p]); err != nil {
				t.Errorf("%s/%s rejected by kube-apiserver: %v", name, p, err)
				continue
			}
			var head struct{ Kind string }
			_ = yaml.Unmarshal(tree[p], &head)
			kinds[head.Kind]++
			applied++
		}
	}
	t.Logf("kube-apiserver accepted %d manifests: %v", applied, kinds)
	// Warnings mean something the API server will stop accepting or that
	// may collide; Meridian's manifests should draw none.
	for msg, n := range c.warnings.seen {
		t.Errorf("API server warning (%d manifests): %s", n, msg)
	}
	for _, k := range []string{"Application", "Key", "Group", "Bucket", "BucketServerSideEncryptionConfiguration",
		"ResourceGroup", "Vault", "KeyRing", "CryptoKey", "WorkloadInfra", "CompositeResourceDefinition", "Composition",
		"NetworkPolicy", "Ingress", "GlobalNetworkPolicy", "SecurityGroup", "SecurityGroupIngressRule",
		"SecurityGroupEgressRule", "SecurityRule", "Firewall"} {
		if kinds[k] == 0 {
			t.Errorf("no %s was applied: the end-to-end run does not cover it", k)
		}
	}
}

// TestServerRejectsBrokenManifests proves the server is the judge: the
// same manifests, broken the way a renderer bug would break them, are
// refused with the CRD's own messages.
func TestServerRejectsBrokenManifests(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cases := map[string]struct {
		reason string
		doc    string
		want   string
	}{
		"CEL rule": {
			reason: "the Key Vault CRD's CEL rule requires tenantId",
			doc: `apiVersion: keyvault.azure.m.upbound.io/v1beta1
kind: Vault
metadata: {name: v, namespace: e2e}
spec:
  forProvider: {location: westeurope, skuName: standard}
`,
			want: "spec.forProvider.tenantId is a required parameter",
		},
		"Calico CEL rule": {
			reason: "the GlobalNetworkPolicy CRD's CEL rule forbids egress rules on a preDNAT policy",
			doc: `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: broken}
spec:
  preDNAT: true
  applyOnForward: true
  selector: all()
  egress: [{action: Allow}]
`,
			want: "preDNAT policy cannot have any egress rules",
		},
		"NetworkPolicy": {
			reason: "the built-in validation refuses an except outside its cidr",
			doc: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: e2e}
spec:
  podSelector: {}
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [192.168.0.0/16]}}]}]
`,
			want: "must be a strict subset of `cidr`",
		},
		"unknown field": {
			reason: "strict field validation refuses a misspelt field",
			doc: `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a, namespace: e2e}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: x}
  source: {repoURL: https://example.com/r.git, path: p, targtRevision: HEAD}
`,
			want: "targtRevision",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.apply(ctx, []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: want rejection containing %q, got %v", tc.reason, tc.want, err)
			}
		})
	}
}

// renderNetwork renders gitops/deploy's testdata/network repo: Calico
// edges and a centre on every kind of target, with cross-site flows.
func renderNetwork(t *testing.T) deploy.Tree {
	t.Helper()
	cfg, err := config.Load(os.DirFS(filepath.Join("..", "testdata", "network")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "network-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var plan *meridian.Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	r, err := deploy.Render(cfg, plan, deploy.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Tree
}
