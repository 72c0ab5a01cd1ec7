#!/usr/bin/env bash
# Prints the gzipped size of what a browser downloads for clerk-fauna (the
# .wasm, its JS glue and the error class), from the built pkg/.
# Goal: at most 12 KB; limit: 30 KB. A report, not a test: it says plainly
# when a figure misses, and exits 0 so the figure is always printed.
set -euo pipefail
cd "$(dirname "$0")/../pkg/web"
gz() { gzip -9c "$@" | wc -c; }
wasm=$(gz clerk_fauna_bg.wasm)
glue=$(cat clerk_fauna.js $(find snippets -name '*.js') | gzip -9c | wc -c)
total=$((wasm + glue))
printf 'size: clerk_fauna_bg.wasm %d B raw, %d B gzipped; JS glue %d B gzipped; total %d B (%.1f KB) gzipped (goal <= 12 KB, limit 30 KB)\n' \
  "$(wc -c < clerk_fauna_bg.wasm)" "$wasm" "$glue" "$total" "$(echo "$total / 1024" | bc -l)"
[ "$total" -le $((30 * 1024)) ] || echo "size: OVER the 30 KB limit (see the open size work in the issue notes)"
[ "$total" -le $((12 * 1024)) ] || echo "size: above the 12 KB goal" 
