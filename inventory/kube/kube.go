// Package kube is the inventory Reader of on-prem and edge targets: what
// Meridian deployed into a target's Kubernetes cluster, read through
// client-go's dynamic client.
package kube

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/deploy"
)

// argoInstance is the label Argo CD's default resource tracking puts on
// what an Application syncs: the Application's name, workload.target for
// Meridian's (deploy.AppName).
const argoInstance = "app.kubernetes.io/instance"

// workloadKinds are the controllers a workload's manifests run as.
var workloadKinds = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// Reader lists the namespaces and workloads of one cluster that belong to
// Meridian's placements: labelled meridian.io/workload (Crossplane and
// Meridian-rendered objects), or tracked by Argo CD under an Application
// named workload.target. Read-only: list on namespaces, deployments,
// statefulsets and daemonsets is all it needs.
type Reader struct {
	dyn dynamic.Interface
}

// New returns a Reader of the cluster cfg points at.
func New(cfg *rest.Config) (*Reader, error) {
	if cfg.Timeout == 0 {
		cfg = rest.CopyConfig(cfg)
		cfg.Timeout = 30 * time.Second
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes inventory: %w", err)
	}
	return &Reader{dyn: dyn}, nil
}

// NewFromKubeconfig returns a Reader of the kubeconfig context kubeContext,
// loaded as kubectl loads it ($KUBECONFIG, else ~/.kube/config).
func NewFromKubeconfig(kubeContext string) (*Reader, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(),
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes inventory: context %s: %w", kubeContext, err)
	}
	return New(cfg)
}

// Resources implements inventory.Reader. Each resource's tags are its
// labels, with meridian.io/workload and meridian.io/target filled from
// Argo CD's tracking label where only that one is set.
func (r *Reader) Resources(ctx context.Context) ([]meridian.LiveResource, error) {
	var out []meridian.LiveResource
	owned := map[string]bool{}
	for _, gvr := range workloadKinds {
		// The API server filters by label, so that a large cluster's
		// unrelated workloads are never sent: only objects carrying one of
		// the two owner labels can belong to a placement. An object with
		// both comes in both lists and is kept once.
		byKey := map[string]unstructured.Unstructured{}
		for _, label := range []string{deploy.LabelWorkload, argoInstance} {
			list, err := r.dyn.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: label})
			if err != nil {
				return nil, fmt.Errorf("kubernetes inventory: list %s: %w", gvr.Resource, err)
			}
			for _, o := range list.Items {
				byKey[o.GetNamespace()+"/"+o.GetName()] = o
			}
		}
		// In the API server's own list order, namespace/name.
		for _, key := range slices.Sorted(maps.Keys(byKey)) {
			o := byKey[key]
			tags, ok := ownerLabels(o.GetLabels())
			if !ok {
				continue
			}
			owned[o.GetNamespace()] = true
			out = append(out, meridian.LiveResource{Kind: meridian.LiveWorkload, Name: o.GetName(), Tags: tags,
				ID: o.GetNamespace() + "/" + o.GetKind() + "/" + o.GetName()})
		}
	}
	list, err := r.dyn.Resource(namespaces).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes inventory: list namespaces: %w", err)
	}
	for _, ns := range list.Items {
		tags, ok := ownerLabels(ns.GetLabels())
		if !ok && !owned[ns.GetName()] {
			continue
		}
		out = append(out, meridian.LiveResource{Kind: meridian.LiveNamespace, ID: ns.GetName(), Name: ns.GetName(), Tags: tags})
	}
	return out, nil
}

// ownerLabels returns labels with Meridian's owner labels set, and whether
// the object belongs to a Meridian placement at all.
func ownerLabels(labels map[string]string) (map[string]string, bool) {
	out := make(map[string]string, len(labels)+2)
	for k, v := range labels {
		out[k] = v
	}
	if out[deploy.LabelWorkload] != "" {
		return out, true
	}
	// Workload and target names are DNS labels without dots, so the one
	// dot of workload.target splits it unambiguously.
	if w, t, ok := strings.Cut(labels[argoInstance], "."); ok && w != "" && t != "" && !strings.Contains(t, ".") {
		out[deploy.LabelWorkload], out[deploy.LabelTarget] = w, t
		return out, true
	}
	return out, false
}
