#!/usr/bin/env bash
# Every test, in order, then one closing line counting them all:
# "N passed, N failed". Stops at the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { echo "== $*"; "$@" 2>&1 | tee -a "$log"; }

# The browser suite takes about 7 s alone; leave room for a busy machine.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-90}
# The package first: the lint's type check of the tests' JS imports it.
run scripts/build-package.sh
run make -s lint
run cargo test --workspace
run make -s ts
run wasm-pack test --headless --chrome
run scripts/check-package.sh
run make -s api
run scripts/size-report.sh
run make -s security
run make -s streams
run scripts/fuzz.sh
run make -s e2e
run make -s clients
run make -s environments

# Cargo and the wasm-bindgen test runner both close with "test result: ok. N passed; M failed".
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
