#!/usr/bin/env bash
# The test command: set-up, contract checks (buf lint, generated code fresh), typecheck, then every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
node tools/gen-proto.mjs --check
npx tsc -p tsconfig.json
npx vitest run "$@"
