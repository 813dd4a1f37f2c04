#!/usr/bin/env bash
# The one test command (README: `make test`): set-up, lint, typecheck, generated-file drift, then
# every vitest project (unit, zk, kube, node, e2e), timing each phase. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

phases=()
run_phase() { # name command...
  local name=$1; shift
  local start=$SECONDS
  echo
  echo "=== $name ==="
  local rc=0
  "$@" || rc=$?
  phases+=("$(printf '%-14s %5ds%s' "$name" $((SECONDS - start)) "$( ((rc)) && echo '  FAILED')")")
  return $rc
}

report=$(mktemp -d)

summary() {
  echo
  echo "=== phase timings ==="
  printf '%s\n' "${phases[@]}"
  node scripts/count-tests.ts "$report"/*.json
}
trap 'status=$?; summary || true; rm -rf "$report"; exit $status' EXIT

run_phase setup bash scripts/setup.sh
run_phase lint npm run --silent lint
run_phase typecheck npm run --silent typecheck
if npm run | grep -q 'check:generated'; then run_phase generated npm run --silent check:generated; fi
# Every tier runs even when an earlier one failed, so one run shows everything that is broken.
failed=()
for project in unit zk kube node e2e; do
  run_phase "test:$project" vitest run --project "$project" --reporter=verbose \
    --reporter=json --outputFile.json="$report/$project.json" || failed+=("$project")
done
if ((${#failed[@]})); then
  echo "failed test projects: ${failed[*]}" >&2
  exit 1
fi
