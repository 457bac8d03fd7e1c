package crossplane

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meridianhq/meridian"
)

// Client reads objects of any kind through client-go's dynamic client,
// mapping kinds to resources by the API server's discovery.
type Client struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

// requestTimeout bounds each request, so that an unreachable cluster fails
// its target's check instead of hanging `meridian drift`.
const requestTimeout = 30 * time.Second

// NewClient returns a Client for the cluster cfg points at.
func NewClient(cfg *rest.Config) (*Client, error) {
	if cfg.Timeout == 0 {
		cfg = rest.CopyConfig(cfg)
		cfg.Timeout = requestTimeout
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Client{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// List implements Reader. A kind the API server does not serve (its CRD is
// not installed) lists as nothing: every desired resource of it is then
// missing, which is what the cluster holds.
func (c *Client) List(ctx context.Context, gvk schema.GroupVersionKind, namespace, selector string) ([]unstructured.Unstructured, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// The CRD may have been installed since discovery was cached.
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = c.dyn.Resource(m.Resource).Namespace(namespace)
	}
	l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// RESTConfig is the client configuration crossplane.cluster names: the
// pod's service account, or a kubeconfig file and context. The kubeconfig's
// credentials go to its context's server and nowhere else.
func RESTConfig(k meridian.CrossplaneCluster) (*rest.Config, error) {
	if k.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("crossplane.cluster.in_cluster: %w", err)
		}
		return cfg, nil
	}
	if k.Kubeconfig == "" {
		return nil, meridian.Errorf(meridian.EINVALID, "crossplane.cluster: needs kubeconfig or in_cluster: true")
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("crossplane.cluster.kubeconfig %s (context %q): %w", k.Kubeconfig, k.Context, err)
	}
	return cfg, nil
}
