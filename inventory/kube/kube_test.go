package kube_test

import (
	"github.com/meridianhq/meridian/kubetest"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/inventory/kube"
)

// TestReader reads what Meridian deployed from a real kube-apiserver:
// a Deployment Argo CD tracks under the Application docs-site.onprem-fra-dc1
// in a namespace Argo CD created (no labels of its own), a StatefulSet
// labelled by Meridian in a labelled namespace, and nothing of an
// unrelated Deployment.
func TestReader(t *testing.T) {
	cfg := kubetest.Start(t, kubetest.Options{})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	create := func(gvr schema.GroupVersionResource, obj map[string]any) {
		t.Helper()
		u := &unstructured.Unstructured{Object: obj}
		ri := dyn.Resource(gvr)
		var err error
		if ns := u.GetNamespace(); ns != "" {
			_, err = ri.Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
		} else {
			_, err = ri.Create(ctx, u, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("create %s: %v", u.GetName(), err)
		}
	}
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	create(nsGVR, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "docs"}})
	create(nsGVR, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "ledger",
		"labels": map[string]any{"meridian.io/workload": "payments-ledger", "meridian.io/target": "onprem-dal-dc2"}}})
	pod := func(app string) map[string]any {
		return map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": app}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": app}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx"}}}},
		}
	}
	create(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "docs", "labels": map[string]any{"app.kubernetes.io/instance": "docs-site.onprem-fra-dc1"}},
		"spec":     pod("web")})
	create(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "other", "namespace": "default", "labels": map[string]any{"app.kubernetes.io/instance": "not-meridian"}},
		"spec":     pod("other")})
	ss := pod("db")
	ss["serviceName"] = "db"
	create(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "db", "namespace": "ledger", "labels": map[string]any{"meridian.io/workload": "payments-ledger", "meridian.io/target": "onprem-dal-dc2"}},
		"spec":     ss})

	r, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{"app.kubernetes.io/instance": "docs-site.onprem-fra-dc1", "meridian.io/workload": "docs-site", "meridian.io/target": "onprem-fra-dc1"}
	ledger := map[string]string{"meridian.io/workload": "payments-ledger", "meridian.io/target": "onprem-dal-dc2"}
	want := []meridian.LiveResource{
		{Kind: meridian.LiveWorkload, ID: "docs/Deployment/web", Name: "web", Tags: docs},
		{Kind: meridian.LiveWorkload, ID: "ledger/StatefulSet/db", Name: "db", Tags: ledger},
		{Kind: meridian.LiveNamespace, ID: "docs", Name: "docs", Tags: map[string]string{"kubernetes.io/metadata.name": "docs"}},
		{Kind: meridian.LiveNamespace, ID: "ledger", Name: "ledger", Tags: map[string]string{"kubernetes.io/metadata.name": "ledger", "meridian.io/workload": "payments-ledger", "meridian.io/target": "onprem-dal-dc2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
}
