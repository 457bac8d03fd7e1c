#!/usr/bin/env bash
# Builds a Terraform-compatible binary from Go modules (release downloads are
# unreachable here) into a cache outside the repo, and prints its absolute
# path as the last line. Skips the build when the binary is already cached;
# a second invocation while a build runs waits for it instead of building
# again.
#
# Terraform v1.5.7 is the last MPL-licensed release and the newest that
# builds with `go install` on this toolchain (see TOOLCHAIN.md).
#
# Tests read the binary from MERIDIAN_TERRAFORM:
#   export MERIDIAN_TERRAFORM="$(scripts/install-terraform.sh | tail -n1)"
set -euo pipefail
version="${MERIDIAN_TERRAFORM_VERSION:-v1.5.7}"
cache="${MERIDIAN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meridian}/terraform/$version"
bin="$cache/terraform"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -x "$bin" ]]; then
  echo "building terraform $version into $cache (about 3 minutes on a cold cache)" >&2
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@$version" >&2
  mv "$tmp/terraform" "$bin"
fi
# The machine points TF_CLI_CONFIG_FILE at a missing file; the warning that
# causes would break version parsing, so check with a clean environment (and
# no update check: there is no network).
env -u TF_CLI_CONFIG_FILE CHECKPOINT_DISABLE=1 "$bin" version >&2
echo "$bin"
