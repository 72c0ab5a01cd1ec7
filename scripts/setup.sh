#!/usr/bin/env bash
# Installs what building and testing need, idempotently: fast when all is
# there already. Needs rustup and Node (npm); installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

command -v cargo >/dev/null || { echo "setup: Rust (rustup) is needed: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: Node.js 18+ with npm is needed" >&2; exit 1; }

# rust-toolchain.toml pins the toolchain, with the components and target
# below; rustup installs it on first use, or here. The checks that follow
# add what an earlier install of that toolchain left out.
rustc --version >/dev/null 2>&1 || rustup toolchain install

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The package build recompiles the standard library for size (see
# scripts/build-package.sh), which needs its source.
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  say "adding the rust-src component"
  rustup component add rust-src
fi

# make lint (part of make test); rustup's minimal profile leaves them out.
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
  say "adding the clippy and rustfmt components"
  rustup component add clippy rustfmt
fi

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (about 2 minutes, once)"
  # --locked can fail when a pinned dependency was yanked; then resolve afresh.
  cargo install wasm-bindgen-cli --version "=$bindgen_version" --locked 2>/dev/null \
    || cargo install wasm-bindgen-cli --version "=$bindgen_version" --force
fi

if ! command -v wasm-pack >/dev/null; then
  # The npm package of wasm-pack downloads a binary at install: build it instead.
  say "installing wasm-pack (about 2 minutes, once)"
  cargo install wasm-pack --locked
fi

if ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz (about 1 minute, once)"
  cargo install cargo-fuzz --locked
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing Chromium and ChromeDriver from Debian"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium chromium-driver >/dev/null
fi
