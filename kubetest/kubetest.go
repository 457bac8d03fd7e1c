// Package kubetest starts the real kube-apiserver (with Debian's etcd) that
// the end-to-end tests validate against: the one
// scripts/install-kube-apiserver.sh builds, named by MERIDIAN_KUBE_ASSETS.
package kubetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridianhq/meridian/citest"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// EnvAssets names the folder holding the kube-apiserver and etcd binaries.
const EnvAssets = "MERIDIAN_KUBE_ASSETS"

// Options are the CRDs to install before the test starts.
type Options struct {
	// CRDDirs are folders of CRD manifests; each must exist.
	CRDDirs []string
	// CRDs are CRDs built by the test.
	CRDs []*apiextensionsv1.CustomResourceDefinition
}

// Start starts an API server for tb and stops it when tb ends. Without
// MERIDIAN_KUBE_ASSETS the test skips, and fails under CI=true, where
// .ci/run builds the binaries.
func Start(tb testing.TB, opts Options) *rest.Config {
	tb.Helper()
	assets := os.Getenv(EnvAssets)
	if assets == "" {
		msg := "no kube-apiserver: set " + EnvAssets + "=$(scripts/install-kube-apiserver.sh | tail -1)"
		citest.Missing(tb, msg)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			tb.Fatalf("%s=%s lacks %s: %v", EnvAssets, assets, b, err)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     opts.CRDDirs,
		CRDs:                  opts.CRDs,
		ErrorIfCRDPathMissing: len(opts.CRDDirs) > 0,
		// A cold API server on a busy two-core machine can take a while.
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	env.CRDInstallOptions.MaxTime = time.Minute
	// The API server must not try to publish its own endpoint on 127.0.0.1.
	env.ControlPlane.GetAPIServer().Configure().Set("endpoint-reconciler-type", "none")
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		tb.Fatalf("start kube-apiserver from %s: %v", assets, err)
	}
	tb.Cleanup(func() {
		if err := env.Stop(); err != nil {
			tb.Errorf("stop kube-apiserver: %v", err)
		}
	})
	tb.Logf("kube-apiserver with %d CRDs ready in %s", len(env.CRDs), time.Since(start).Round(time.Millisecond))
	return cfg
}
