package charts

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// renderedTrees are deploy trees the deploy renderer (gitops/deploy)
// wrote: its golden files, which its own tests keep byte-identical to
// what it renders, so that the kinds below follow the renderer.
var renderedTrees = []string{
	filepath.Join("..", "gitops", "deploy", "testdata", "golden"),
	filepath.Join("..", "cmd", "meridian", "testdata", "render"),
}

// clusterReads are the kinds Meridian itself reads from a cluster, found
// in the deploy trees the renderer writes:
//
//   - infra/: Crossplane resources, which the Crossplane drift check
//     lists back (gitops/crossplane.Client.List) from the cluster of an
//     engine: crossplane target, which may be the one Meridian runs in;
//   - apps/: Argo CD Applications, read from the cluster with
//     rbac.argocdApplications.
//
// sites/ (NetworkPolicy, Ingress, Calico GlobalNetworkPolicy) are left
// out: Argo CD's site Applications sync them into each target's cluster,
// and Meridian never reads them back. xrGroups are the groups of the
// composite resources (XRs) among the infra kinds: their group is the
// user's own (rbac.crossplaneAPIGroups says to add it), as opposed to the
// managed resources' spec.forProvider.
func clusterReads(t *testing.T) (reads []schema.GroupVersionKind, xrGroups []string) {
	t.Helper()
	for _, root := range renderedTrees {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			// root/<tree>/<dir>/...: the tree's top folder says who applies it.
			if len(parts) < 3 || parts[1] != "infra" && parts[1] != "apps" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var o unstructured.Unstructured
			if err := yaml.Unmarshal(b, &o.Object); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			gvk := o.GroupVersionKind()
			if gvk.Kind == "" {
				t.Fatalf("%s: no kind", p)
			}
			if !slices.Contains(reads, gvk) {
				reads = append(reads, gvk)
			}
			if _, mr, _ := unstructured.NestedMap(o.Object, "spec", "forProvider"); parts[1] == "infra" && !mr && !slices.Contains(xrGroups, gvk.Group) {
				xrGroups = append(xrGroups, gvk.Group)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read the rendered trees: %v", err)
		}
	}
	if len(reads) < 5 || len(xrGroups) == 0 {
		t.Fatalf("the rendered trees hold %d kinds (%d XR groups): the golden trees moved?", len(reads), len(xrGroups))
	}
	return reads, xrGroups
}

// rbacValues are prodValues with every read Meridian makes turned on:
// Argo CD Applications from the cluster and the XR groups of the rendered
// trees, as a user with composite resources adds them.
func rbacValues(t *testing.T, xrGroups []string) map[string]any {
	t.Helper()
	v := prodValues()
	groups := []any{}
	for _, g := range defaultCrossplaneGroups(t) {
		groups = append(groups, g)
	}
	for _, g := range xrGroups {
		groups = append(groups, g)
	}
	v["rbac"] = map[string]any{"argocdApplications": true, "crossplaneAPIGroups": groups}
	return v
}

// defaultCrossplaneGroups are the chart's default rbac.crossplaneAPIGroups.
func defaultCrossplaneGroups(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		RBAC struct {
			CrossplaneAPIGroups []string `json:"crossplaneAPIGroups"`
		} `json:"rbac"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v.RBAC.CrossplaneAPIGroups
}

// checkRBAC asks the API server, which has the chart's ClusterRole and
// binding applied, whether the chart's service account may list and get
// every kind in reads, and that it may not write them nor read Secrets:
// the API server's RBAC authorizer decides, not a reading of the rules.
func checkRBAC(ctx context.Context, t *testing.T, dyn dynamic.Interface, objs []*unstructured.Unstructured, reads []schema.GroupVersionKind) {
	t.Helper()
	sa := find(objs, "ServiceAccount")
	user := "system:serviceaccount:" + sa.GetNamespace() + ":" + sa.GetName()
	if sa.GetNamespace() == "" {
		user = "system:serviceaccount:" + namespace + ":" + sa.GetName()
	}
	sar := dyn.Resource(schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"})
	allowed := func(verb, group, resource string) bool {
		t.Helper()
		review := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
			"spec": map[string]any{"user": user, "groups": []any{"system:serviceaccounts", "system:authenticated"},
				"resourceAttributes": map[string]any{"verb": verb, "group": group, "resource": resource, "namespace": "team-a"}},
		}}
		got, err := sar.Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview: %v", err)
		}
		ok, _, _ := unstructured.NestedBool(got.Object, "status", "allowed")
		return ok
	}
	for _, gvk := range reads {
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		for _, verb := range []string{"list", "get"} {
			if !allowed(verb, gvk.Group, plural.Resource) {
				t.Errorf("the chart's role may not %s %s (%s): Meridian reads it back from the cluster", verb, plural.GroupResource(), gvk.Kind)
			}
		}
		// The control: the authorizer really is RBAC, and the role reads only.
		for _, verb := range []string{"create", "patch", "delete"} {
			if allowed(verb, gvk.Group, plural.Resource) {
				t.Errorf("the chart's role may %s %s: Meridian never writes to the cluster", verb, plural.GroupResource())
			}
		}
	}
	if allowed("get", "", "secrets") {
		t.Error("the chart's role may read Secrets")
	}
}

// TestChartRBACReads checks, without a cluster, that the chart's rules
// name the group of every kind Meridian reads (checkRBAC asks the API
// server in TestChartApply), and that a kind of the rendered trees
// missing from the defaults is an error, not a silent pass.
func TestChartRBACReads(t *testing.T) {
	reads, xrGroups := clusterReads(t)
	cases := map[string]struct {
		reason string
		vals   map[string]any
		want   []string // groups expected missing
	}{
		"every read on": {"the defaults plus the user's XR groups and Argo CD Applications cover every kind read",
			rbacValues(t, xrGroups), nil},
		"defaults": {"a user who has not added their XR group lacks it, and Applications are read through Argo CD's API",
			prodValues(), append([]string{"argoproj.io"}, xrGroups...)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files, err := render(t, tc.vals)
			if err != nil {
				t.Fatal(err)
			}
			granted := map[string]bool{}
			rules, _, _ := unstructured.NestedSlice(find(objects(t, files), "ClusterRole").Object, "rules")
			for _, r := range rules {
				rm := r.(map[string]any)
				if !slices.Contains(rm["verbs"].([]any), any("list")) {
					continue
				}
				for _, g := range rm["apiGroups"].([]any) {
					granted[g.(string)] = true
				}
			}
			var missing []string
			for _, gvk := range reads {
				if !granted[gvk.Group] && !slices.Contains(missing, gvk.Group) {
					missing = append(missing, gvk.Group)
				}
			}
			slices.Sort(missing)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(missing, want) {
				t.Errorf("%s: groups without list = %v, want %v", tc.reason, missing, want)
			}
		})
	}
}
