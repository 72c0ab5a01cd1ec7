#!/usr/bin/env bash
# Builds the npm package folder pkg/: wasm-pack's output for bundlers and for
# plain browser ESM, merged with pkg-template/. `npm pack pkg` then yields an
# installable tarball.
set -euo pipefail
cd "$(dirname "$0")/.."

out=pkg
work=target/wasm-pack
rm -rf "$out" "$work"
# wasm-opt from npm's binaryen, pinned in scripts/package.json: Debian's
# version 108 writes wasm-bindgen's externref table export against the wrong
# table, and the module then fails to load in every browser.
[ -x scripts/node_modules/.bin/wasm-opt ] || (cd scripts && npm ci --silent --no-audit --no-fund)
wasm_opt=scripts/node_modules/.bin/wasm-opt

for target in bundler web; do
  wasm-pack --quiet build --release --no-pack --target "$target" \
    --out-dir "$work/$target" --out-name clerk_fauna >/dev/null
  rm -f "$work/$target/.gitignore"
  # Rust's wasm32 target emits these features by default.
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$work/$target/clerk_fauna_bg.wasm" -o "$work/$target/clerk_fauna_bg.wasm"
done

mkdir -p "$out"
cp -r "$work/bundler" "$work/web" "$out/"
# The error class is a wasm-bindgen snippet under a hashed folder name; the
# entries re-export it from there, so `instanceof` sees the one class.
error_module=$(cd "$out/web" && find snippets -name error.js | head -n 1)
[ -n "$error_module" ] || { echo "build-package: error.js snippet not found" >&2; exit 1; }
for f in index.js index.d.ts web.js web.d.ts node.js react.js react.d.ts package.json LICENSE; do
  sed "s|@ERROR_MODULE@|$error_module|g" "pkg-template/$f" > "$out/$f"
done
cp README.md "$out/README.md"
echo "built $out/ ($(du -sh "$out" | cut -f1))"
