#!/usr/bin/env bash
# Builds a real kube-apiserver from Go modules and puts it next to an etcd
# binary, for the deploy end-to-end test (gitops/deploy/e2e), which installs
# the Argo CD, Crossplane and upjet provider CRDs and server-side applies
# every rendered manifest. Release downloads (and setup-envtest) are
# unreachable here, so:
#
#   - etcd comes from Debian's etcd-server package (3.4);
#   - kube-apiserver is built through a throwaway wrapper module, because
#     k8s.io/kubernetes replaces its staging repos with local paths and
#     `go install` refuses such a module. The wrapper pins every staging
#     module to the matching v0.x release instead, and stubs the two that the
#     proxy does not serve (sample-cli-plugin, sample-controller).
#
# Everything is cached under ~/.cache/meridian/ (or $MERIDIAN_CACHE_DIR), so a
# second run returns at once. Progress goes to stderr; the LAST LINE of
# stdout is the directory holding both binaries, ready for
#
#   export MERIDIAN_KUBE_ASSETS=$(scripts/install-kube-apiserver.sh | tail -1)
#
# A cold build takes about 6 minutes and 171 MB on two cores.
set -euo pipefail

version="${MERIDIAN_KUBE_VERSION:-v1.37.2}"
staging="v0.${version#v1.}" # v1.37.2 -> v0.37.2
cache="${MERIDIAN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meridian}/kube-apiserver/$version"
bin="$cache/bin"
mkdir -p "$bin"

# etcd: reuse one on PATH, else install Debian's.
if [[ ! -x "$bin/etcd" ]]; then
  if ! command -v etcd >/dev/null 2>&1; then
    echo "installing Debian etcd-server" >&2
    sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >&2
  fi
  ln -sf "$(command -v etcd)" "$bin/etcd"
fi
# Debian starts an etcd service on install; the tests run their own on
# random ports, so the service is harmless, but say so once.
"$bin/etcd" --version >&2

if [[ ! -x "$bin/kube-apiserver" ]]; then
  echo "building kube-apiserver $version into $bin (about 6 minutes on a cold cache)" >&2
  src="$cache/src"
  rm -rf "$src"
  mkdir -p "$src/stub"
  cd "$src"
  # Read k8s.io/kubernetes's own go.mod to learn its staging modules, so the
  # list follows the version instead of being written out here.
  gomod=$(GOFLAGS=-mod=mod go list -m -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -n "$gomod" && -f "$gomod" ]] || { echo "cannot read go.mod of k8s.io/kubernetes@$version" >&2; exit 1; }
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod")
  [[ -n "$mods" ]] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
  goversion=$(go env GOVERSION)
  {
    echo "module meridian.local/kube-apiserver-wrapper"
    echo
    echo "go ${goversion#go}"
    echo
    for m in $mods; do
      case "$m" in
        k8s.io/sample-cli-plugin|k8s.io/sample-controller)
          name=${m#k8s.io/}
          mkdir -p "stub/$name"
          printf 'module %s\n\ngo 1.24\n' "$m" >"stub/$name/go.mod"
          echo "replace $m => ./stub/$name"
          ;;
        *) echo "replace $m => $m $staging" ;;
      esac
    done
  } >go.mod
  GOFLAGS=-mod=mod go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$version" >&2
  tmp="$bin/.kube-apiserver.$$"
  GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -o "$tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$tmp" "$bin/kube-apiserver"
fi
"$bin/kube-apiserver" --version >&2
echo "$bin"
