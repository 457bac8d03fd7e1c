#!/usr/bin/env bash
# Builds Meridian's container image with no Docker daemon: a static
# meridian, the Terraform binary scripts/install-terraform.sh builds, and
# git with its libraries and the CA certificates from this (Debian)
# machine, as an OCI image layout and/or a `docker load` tarball.
#
#   scripts/build-image.sh [--layout DIR] [--tarball FILE] [--tag REF]
#   (default: --layout bin/image --tag ghcr.io/meridianhq/meridian:<version>)
#
# Push the layout with any OCI tool, e.g. `crane push bin/image REF` or
# `skopeo copy oci:bin/image docker://REF`. It needs git and
# ca-certificates installed (apt-get install git ca-certificates).
# The last line printed is the image reference with its digest.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${MERIDIAN_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
revision="$(git rev-parse HEAD 2>/dev/null || true)"
# Reproducible: every file dated at the commit, not at the build.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
args=("$@")
if ((${#args[@]} == 0)); then
  args=(--layout bin/image --tag "ghcr.io/meridianhq/meridian:${version//+/_}")
fi
terraform="${MERIDIAN_TERRAFORM:-$(scripts/install-terraform.sh | tail -n1)}"
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o bin/meridian-static ./cmd/meridian
go run ./cmd/meridian-image --meridian bin/meridian-static --terraform "$terraform" \
  --version "$version" --revision "$revision" "${args[@]}"
