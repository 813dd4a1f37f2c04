#!/usr/bin/env bash
# The README's main-job command: `make demo` (scripts/demo.ts does the work), `make demo-down`.
# Set-up first (Debian packages, npm dependencies, the rig's pinned binaries), as `make test`
# does, so that it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" != down ]]; then bash scripts/setup.sh; fi
export PATH="$PWD/node_modules/.bin:$PATH"
exec node scripts/demo.ts "$@"
