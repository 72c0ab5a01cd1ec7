#!/usr/bin/env bash
# Prints the gzipped size of what a browser downloads for clerk-fauna (the
# .wasm, and the web entry bundled: the typed layer, the core's loader and
# wasm-bindgen's glue), from the built pkg/. The JS is counted as shipped and minified by
# esbuild (as any production bundle is). Goal: at most 12 KB; limit: 34 KB.
# The figures are always printed; over the limit it fails (so `make test`
# does), a miss of the goal is only said. The limit was 34 KB before the
# typed layer (TypeScript over a core of plain-data exports) replaced the
# wasm-bindgen classes and their JS snippets, then 30 KB; event streams and
# feeds (#12) added 6.7 KB, hence 37 KB; a round of cuts across the exports,
# the core, the loader and wasm-opt's passes took 2.4 KB off (36.1 -> 33.8
# KB), hence 35 KB; a second round 1.3 KB more (-> 32.5 KB), hence 34 KB.
# Issue #11 asks for 22 KB, not reached yet (see BENCHMARKS.md, "Where the
# bytes go").
goal_kb=12
# Issue #11's step toward the goal.
step_kb=22
limit_kb=34
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/node_modules/.bin/esbuild" ] || (cd "$here" && npm ci --silent --no-audit --no-fund)
cd "$here/../pkg"

# The web entry bundled: the typed layer and the core's loader, nothing else.
bundle() { "$here/node_modules/.bin/esbuild" web.js --bundle --format=esm --log-level=error "$@"; }
wasm=$(gzip -9c web/clerk_fauna_bg.wasm | wc -c)
glue=$(bundle | gzip -9c | wc -c)
glue_min=$(bundle --minify | gzip -9c | wc -c)
total=$((wasm + glue_min))
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }

echo "size: clerk_fauna_bg.wasm $(wc -c < web/clerk_fauna_bg.wasm) B raw, $wasm B gzipped"
echo "size: JS (web entry bundled) $glue B gzipped as shipped, $glue_min B minified and gzipped"
echo "size: total $total B ($(kb "$total")) gzipped (goal $goal_kb KB, limit $limit_kb KB)"
# Where the bytes go, from the build's copy of the .wasm that keeps names.
named=../target/wasm-pack/web/clerk_fauna_bg.named.wasm
[ ! -e "$named" ] || node "$here/size-breakdown.mjs" "$named" web.js
[ "$total" -le $((step_kb * 1024)) ] || echo "size: above the $step_kb KB of issue #11's step"
[ "$total" -le $((goal_kb * 1024)) ] || echo "size: above the $goal_kb KB goal"
if [ "$total" -gt $((limit_kb * 1024)) ]; then
  echo "size: OVER the $limit_kb KB limit" >&2
  exit 1
fi
