#!/usr/bin/env bash
# Builds local-kms (github.com/nsmithuk/local-kms), a KMS emulator, from Go
# modules into a cache outside the repo, and prints its absolute path as the
# last line. Skips the build when the binary is already cached; a second
# invocation while a build runs waits for it instead of building again.
#
# The module publishes no tagged releases, so a pseudo-version is pinned.
#
# providers/aws's TestInventoryLocalKMS reads the binary from
# MERIDIAN_LOCAL_KMS:
#   export MERIDIAN_LOCAL_KMS="$(scripts/install-local-kms.sh | tail -n1)"
set -euo pipefail
version="${MERIDIAN_LOCAL_KMS_VERSION:-v0.0.0-20260228092603-2a5e92d09ab6}"
cache="${MERIDIAN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meridian}/local-kms/$version"
bin="$cache/local-kms"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -x "$bin" ]]; then
  echo "building local-kms $version into $cache" >&2
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/nsmithuk/local-kms@$version" >&2
  mv "$tmp/local-kms" "$bin"
fi
echo "$bin"
