#!/usr/bin/env bash
# The demo: set-up, then the whole mesh on the bundled sample video and product (or your arguments).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [ $# -eq 0 ]; then exec npx vanelia demo; else exec npx vanelia "$@"; fi
