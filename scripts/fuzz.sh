#!/usr/bin/env bash
# A bounded coverage-guided run of every fuzz target (FUZZ_SECONDS each,
# default 60). Longer runs: FUZZ_SECONDS=3600 scripts/fuzz.sh, or
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O <target>
# A crash stops the run with the failing input saved under fuzz/artifacts/;
# turn it into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# cargo fuzz passes sanitizer flags that stable rustc takes only with this.
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null 2>&1 || cargo fuzz build -O
for target in $(cargo fuzz list); do
  log=$(mktemp)
  if cargo fuzz run -O "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -n 1)
    echo "fuzz: $target: ${runs:-?} inputs in ${seconds} s, no crash"
    rm -f "$log"
  else
    echo "fuzz: $target FOUND A CRASH:"
    grep -E 'panicked|ERROR|SUMMARY|artifact' "$log" | head -n 20
    rm -f "$log"
    exit 1
  fi
done
