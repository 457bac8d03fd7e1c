// Package e2e applies every manifest Meridian renders to a real
// kube-apiserver, with the Argo CD, Crossplane and upjet provider CRDs
// installed, so that the API server's own validation (OpenAPI schema,
// defaulting, strict unknown-field checks and CEL rules) judges them.
//
// It needs a kube-apiserver and an etcd binary in one folder, named by
// $MERIDIAN_KUBE_ASSETS:
//
//	export MERIDIAN_KUBE_ASSETS=$(scripts/install-kube-apiserver.sh | tail -1)
//	go test ./gitops/deploy/e2e
//
// Without it the test skips, loudly; with CI=true it fails instead, so CI
// cannot pass without having run it.
package e2e
