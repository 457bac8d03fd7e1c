#!/usr/bin/env bash
# Runs Meridian's main job on the bundled example: plan examples/hybrid.
# Extra arguments go to `meridian plan` (e.g. --format markdown).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/meridian ./cmd/meridian
exec bin/meridian plan --repo examples/hybrid "$@"
