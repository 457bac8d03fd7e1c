#!/usr/bin/env bash
# Runs Meridian's main job on the bundled example: plan examples/hybrid with
# the embedded defaults (SQLite under the state dir, local files). Builds a
# Terraform binary into ~/.cache/meridian first when none is installed, so
# the plan includes each target's Terraform change summary.
# Extra arguments go to `meridian plan` (e.g. --format markdown).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${MERIDIAN_TERRAFORM:-}" ]] && ! command -v terraform >/dev/null && ! command -v tofu >/dev/null; then
  MERIDIAN_TERRAFORM="$(scripts/install-terraform.sh | tail -n1)"
  export MERIDIAN_TERRAFORM
fi
go build -o bin/meridian ./cmd/meridian
exec bin/meridian plan --repo examples/hybrid "$@"
