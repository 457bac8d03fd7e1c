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
status=0
bin/meridian plan --repo examples/hybrid "$@" || status=$?
# On stderr, so that `--format json` output stays one document.
cat >&2 <<'EOF'

Next: see the example in the dashboard. `bin/meridian demo` applies it in a
temporary folder, serves it on http://127.0.0.1:8080 and prints a one-time
sign-in link (Ctrl-C stops it and deletes the folder).
EOF
exit "$status"
