// Package charts holds the tests of the Helm charts in this folder: the
// chart is rendered with the Helm library (values.schema.json included),
// linted, and applied server-side to a real kube-apiserver.
package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/meridianhq/meridian/kubetest"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "meridian"
	namespace = "meridian"
	release   = "prod"
)

// prodValues are a production installation's: two replicas on
// PostgreSQL, every credential from a Secret, monitoring on.
func prodValues() map[string]any {
	return map[string]any{
		"repo":     map[string]any{"url": "https://github.com/acme/config.git", "branch": "main"},
		"database": map[string]any{"existingSecret": "meridian-db"},
		"secrets": map[string]any{
			"webhook":     map[string]any{"name": "meridian-webhook"},
			"githubToken": map[string]any{"name": "meridian-github"},
			"gitToken":    map[string]any{"name": "meridian-git"},
		},
		"cloudCredentials": []any{"aws-credentials"},
		"server": map[string]any{"publicURL": "https://meridian.acme.example", "trustedProxies": []any{"10.0.0.0/8"},
			"config": map[string]any{"interval": "2m"}},
		"otel":           map[string]any{"endpoint": "http://otel-collector.monitoring:4318", "headersSecret": map[string]any{"name": "otel-headers"}},
		"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"networkPolicy":  map[string]any{"restrictEgress": true},
	}
}

// render renders the chart as `helm install` would, schema check
// included, and returns its manifests (NOTES.txt left out) by template.
func render(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals,
		common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}, common.DefaultCapabilities, false)
	if err != nil {
		return nil, err
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	for name := range out {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasSuffix(name, ".tpl") {
			delete(out, name)
		}
	}
	return out, nil
}

// objects splits rendered manifests into objects, in a stable order.
func objects(t *testing.T, files map[string]string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, name := range slices.Sorted(maps.Keys(files)) {
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(files[name]), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, files[name])
			}
			if len(m) > 0 {
				out = append(out, &unstructured.Unstructured{Object: m})
			}
		}
	}
	return out
}

func find(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// TestChartSchema checks that values.schema.json and the templates'
// own checks refuse bad values with a message naming the value, and that
// a minimal and a production installation render.
func TestChartSchema(t *testing.T) {
	minimal := func() map[string]any {
		return map[string]any{"replicaCount": 1, "repo": map[string]any{"url": "https://github.com/acme/config.git"}}
	}
	with := func(base map[string]any, path string, v any) map[string]any {
		keys := strings.Split(path, ".")
		m := base
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
		return base
	}
	cases := map[string]struct {
		reason string
		vals   map[string]any
		want   string // "" renders
	}{
		"minimal":    {"one replica on SQLite needs only the repo", minimal(), ""},
		"production": {"two replicas with every option on", prodValues(), ""},
		"replicas as text": {"a type error is caught before rendering",
			with(minimal(), "replicaCount", "two"), "replicaCount"},
		"misspelled key": {"a typo must not be silently ignored",
			with(minimal(), "replicas", 2), "replicas"},
		"secret as a value": {"credentials are Secret references, never values in the chart",
			with(minimal(), "secrets.webhook.value", "hunter2hunter2"), "value"},
		"bad pull policy": {"only Kubernetes' three policies",
			with(minimal(), "image.pullPolicy", "Sometimes"), "pullPolicy"},
		"bad digest": {"a digest is sha256:<64 hex>",
			with(minimal(), "image.digest", "latest"), "digest"},
		"minutes of grace": {"the termination grace is derived from whole seconds",
			with(minimal(), "server.shutdownTimeout", "1m"), "shutdownTimeout"},
		"bad lease": {"durations are Go durations",
			with(minimal(), "leaderLease", "fifteen seconds"), "leaderLease"},
		"wildcard group": {"RBAC names each API group it reads",
			with(minimal(), "rbac.crossplaneAPIGroups", []any{"*"}), "crossplaneAPIGroups"},
		"replicas without PostgreSQL": {"replicas elect their leader in PostgreSQL, so two need it",
			with(minimal(), "replicaCount", 2), "database.existingSecret"},
		"no repo": {"the config repo is required",
			map[string]any{"replicaCount": 1}, "repo.url is required"},
		"metrics auth without a token": {"Prometheus would get 401s",
			with(with(minimal(), "server.metricsAuth", true), "serviceMonitor.enabled", true), "metricsToken"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, tc.vals)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%s: %v", tc.reason, err)
			case tc.want != "" && err == nil:
				t.Fatalf("%s: rendered, want an error naming %q", tc.reason, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("%s: error %q does not name %q", tc.reason, err, tc.want)
			}
		})
	}
}

// TestChartLint runs Helm's own linter (chart metadata, templates,
// values against the schema) on the production values.
func TestChartLint(t *testing.T) {
	l := lint.RunAll(chartDir, prodValues(), namespace)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}

// TestChartManifests checks what the production values render to: the
// leader election wiring, credentials only through Secrets, probes, and
// read-only RBAC.
func TestChartManifests(t *testing.T) {
	files, err := render(t, prodValues())
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	sort.Strings(kinds)
	for _, want := range []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "NetworkPolicy",
		"PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s rendered; got %v", want, kinds)
		}
	}
	if slices.Contains(kinds, "Secret") {
		t.Error("the chart renders a Secret: credentials must come from Secrets the user manages")
	}

	dep := find(objs, "Deployment")
	var d struct {
		Spec struct {
			Replicas int
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string
						Env  []struct {
							Name      string
							Value     string
							ValueFrom map[string]map[string]string `json:"valueFrom"`
						}
						EnvFrom        []map[string]map[string]string          `json:"envFrom"`
						LivenessProbe  struct{ HTTPGet struct{ Path string } } `json:"livenessProbe"`
						ReadinessProbe struct{ HTTPGet struct{ Path string } } `json:"readinessProbe"`
					}
				}
			}
		}
	}
	b, _ := json.Marshal(dep.Object)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"serve", "--advertise-url=http://$(POD_IP):8080", "--leader-lease=15s",
		"--webhook-secret-file=/var/run/secrets/meridian/webhook/webhook-secret",
		"--github-token-file=/var/run/secrets/meridian/github/token", "--git-token-file=/var/run/secrets/meridian/git/token",
		"--config=/etc/meridian/config.yaml", "--trusted-proxy=10.0.0.0/8"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args lack %q: %q", want, c.Args)
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom["fieldRef"] != nil:
			env[e.Name] = "field:" + e.ValueFrom["fieldRef"]["fieldPath"]
		case e.ValueFrom["secretKeyRef"] != nil:
			env[e.Name] = "secret:" + e.ValueFrom["secretKeyRef"]["name"]
		default:
			env[e.Name] = e.Value
		}
	}
	for k, want := range map[string]string{"POD_IP": "field:status.podIP", "MERIDIAN_DB": "secret:meridian-db",
		"OTEL_EXPORTER_OTLP_HEADERS": "secret:otel-headers", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.monitoring:4318"} {
		if env[k] != want {
			t.Errorf("env %s = %q, want %q", k, env[k], want)
		}
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0]["secretRef"]["name"] != "aws-credentials" {
		t.Errorf("envFrom = %v, want the aws-credentials Secret", c.EnvFrom)
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes on %q and %q, want /healthz and /readyz", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}

	// Meridian never writes to the cluster: its role may only read.
	rules, _, _ := unstructured.NestedSlice(find(objs, "ClusterRole").Object, "rules")
	if len(rules) == 0 {
		t.Fatal("the ClusterRole has no rules")
	}
	for _, r := range rules {
		rm := r.(map[string]any)
		for _, v := range rm["verbs"].([]any) {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %v grants %q", rm, v)
			}
		}
		for _, g := range rm["apiGroups"].([]any) {
			if g == "*" {
				t.Errorf("rule %v grants every API group", rm)
			}
		}
	}
}

// TestChartApply applies the production rendering server-side, with
// strict field validation, to the kube-apiserver of the end-to-end tests
// (with the Prometheus Operator's ServiceMonitor CRD installed), and
// checks that the API server agrees the PodDisruptionBudget and the
// Service select the Deployment's pods, and that its RBAC authorizer lets
// the service account read every kind Meridian reads back (checkRBAC).
func TestChartApply(t *testing.T) {
	reads, xrGroups := clusterReads(t)
	files, err := render(t, rbacValues(t, xrGroups))
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)

	cfg := kubetest.Start(t, kubetest.Options{CRDDirs: []string{filepath.Join("testdata", "crds")}})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	ctx := context.Background()
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": namespace}}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	client := func(o *unstructured.Unstructured) dynamic.ResourceInterface {
		t.Helper()
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("no API for %s: %v", gvk, err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			return dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		return dyn.Resource(m.Resource)
	}
	force := true
	for _, o := range objs {
		data, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client(o).Patch(ctx, o.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: "helm", Force: &force, FieldValidation: "Strict"}); err != nil {
			t.Errorf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	if t.Failed() {
		return
	}
	checkRBAC(ctx, t, dyn, objs, reads)
	dep, err := client(find(objs, "Deployment")).Get(ctx, find(objs, "Deployment").GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	for _, kind := range []string{"PodDisruptionBudget", "Service", "NetworkPolicy"} {
		o := find(objs, kind)
		got, err := client(o).Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sel, found, _ := unstructured.NestedStringMap(got.Object, "spec", "selector", "matchLabels")
		if !found {
			sel, _, _ = unstructured.NestedStringMap(got.Object, "spec", "selector")
		}
		if !found && kind == "NetworkPolicy" {
			sel, _, _ = unstructured.NestedStringMap(got.Object, "spec", "podSelector", "matchLabels")
		}
		if len(sel) == 0 {
			t.Errorf("%s selects nothing", kind)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%s, which the pods lack (%v)", kind, k, v, podLabels)
			}
		}
	}
	sm := find(objs, "ServiceMonitor")
	if got, err := client(sm).Get(ctx, sm.GetName(), metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if b, _ := yaml.Marshal(got.Object["spec"]); !bytes.Contains(b, []byte("path: /metrics")) {
		t.Errorf("ServiceMonitor as stored lost its endpoint:\n%s", b)
	}
}
