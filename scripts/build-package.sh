#!/usr/bin/env bash
# Builds the npm package folder pkg/: wasm-pack's output for bundlers and for
# plain browser ESM (the core's plain-data exports), the typed layer compiled
# by tsc into lib/ (.js and .d.ts), and the entries of pkg-template/, which
# hand each build of the core to lib/. `npm pack pkg` then yields an
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

# The typed layer first: a type error stops the build before the slow part.
rm -rf target/ts
scripts/node_modules/.bin/tsc -p ts

# The standard library recompiled for size, with panics that trap at once
# (no panic messages or formatting machinery in the module): about 7 KB of
# the gzipped .wasm. These are unstable flags, so RUSTC_BOOTSTRAP lets the
# stable toolchain accept them (rustup offers this machine no nightly). They
# change the size only: a panic was already a trap (panic = "abort").
# CLERK_FAUNA_STD_BUILD=0 builds with the prebuilt standard library instead.
# Own target dir: these flags would otherwise rebuild everything that shares
# target/ (the browser tests, the stand-ins) and back again.
#
# Reference types off (Rust's wasm32 target turns them on): wasm-bindgen
# then keeps the few JS values the module holds (JSON.parse's answers) in a
# JS array, not in an externref table with its allocator in the module, and
# the exports return through the stack rather than as multiple values.
# Measured: .wasm -622 B, JS +59 B gzipped.
export RUSTFLAGS="-Ctarget-feature=-reference-types"
export CARGO_TARGET_DIR=target/wasm-size
size_flags=()
if [ "${CLERK_FAUNA_STD_BUILD:-1}" = 1 ]; then
  export RUSTC_BOOTSTRAP=1
  export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none $RUSTFLAGS"
  export CARGO_TARGET_DIR=target/wasm-std
  size_flags=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
fi

for target in bundler web; do
  wasm-pack --quiet build --release --no-pack --target "$target" \
    --out-dir "$work/$target" --out-name clerk_fauna . "${size_flags[@]}" >/dev/null
  rm -f "$work/$target/.gitignore"
  # Rust's wasm32 target emits these features by default (but reference
  # types, off above). The custom
  # sections naming the toolchain and the features are metadata no engine reads.
  # Flattening and re-looping the control flow before -Oz, run to a fixed
  # point, saves about 250 B gzipped over -Oz alone. Then copies of functions
  # specialised to their constant arguments where that is smaller, and
  # similar functions merged: 120 B more. --low-memory-unused lets constant
  # offsets fold into loads and stores (160 B): Rust's layout puts the 1 MB
  # stack's far end at address 0, so the first 1 KB is never used.
  opt=("$wasm_opt" --low-memory-unused --generate-global-effects --flatten --rereloop -Oz --converge
    --monomorphize --merge-similar-functions -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-multivalue
    --strip-producers --strip-target-features)
  # A copy that keeps the function names (-g), for scripts/size-breakdown.mjs
  # to say where the bytes go; otherwise the same module.
  [ "$target" = web ] && "${opt[@]}" -g "$work/$target/clerk_fauna_bg.wasm" -o "$work/$target/clerk_fauna_bg.named.wasm"
  "${opt[@]}" "$work/$target/clerk_fauna_bg.wasm" -o "$work/$target/clerk_fauna_bg.wasm"
done

mkdir -p "$out"
cp -r "$work/bundler" "$work/web" "$out/"
rm "$out/web/clerk_fauna_bg.named.wasm"
# The core imports nothing from JS: wasm-bindgen writes no snippets.
for target in bundler web; do
  [ ! -e "$out/$target/snippets" ] || { echo "build-package: $out/$target/snippets: the core must not import JS" >&2; exit 1; }
done
cp -r target/ts "$out/lib"
# pkg-template/ mirrors pkg/; its web/clerk_fauna.js replaces wasm-bindgen's
# loader of the web build, and runs the bundler build's glue, copied beside
# it (both builds' .wasm import the same functions; only the module name
# differs, and the loader passes it).
cp -r pkg-template/. "$out/"
cp "$work/bundler/clerk_fauna_bg.js" "$out/web/"
cp README.md "$out/README.md"
echo "built $out/ ($(du -sh "$out" | cut -f1))"
