# The project's commands. `make test` runs every test; each target installs
# what it needs first (scripts/setup.sh, idempotent).

CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMEDRIVER
# Seconds the browser suite may take (about 7 s alone; room for a busy machine).
WASM_BINDGEN_TEST_TIMEOUT ?= 90
export WASM_BINDGEN_TEST_TIMEOUT

.PHONY: test setup lint unit ts browser package api size security streams demo e2e clients environments bench

## Every test: native core and stand-in tests, browser tests in headless
## Chromium, the npm package built, installed from its tarball, and sized;
## closes with one line "N passed, N failed".
test: setup
	@scripts/test-all.sh

setup:
	@scripts/setup.sh

## Formatting and lints, warnings as errors: the Rust of the crate and the
## stand-ins natively and of the crate's wasm32 exports and browser tests;
## tsc over the typed layer (ts/), compiled into target/ts, over the tests'
## own JavaScript, which imports it, the built package and the tests' npm
## packages (so those first), and over the demo's TypeScript (www/src).
lint: pkg/web.js scripts/node_modules/.package-lock.json www/node_modules/.package-lock.json \
      tests/clients/node_modules/.package-lock.json tests/environments/node_modules/.package-lock.json \
      tests/browser/node_modules/.package-lock.json
	cargo fmt --all -- --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo clippy --quiet --target wasm32-unknown-unknown --lib --tests -- -D warnings
	scripts/node_modules/.bin/tsc -p ts
	scripts/node_modules/.bin/tsc -p tests/tsconfig.json
	www/node_modules/.bin/tsc -p www

## Native tests: the pure core, the local stand-ins and the typed layer's pure parts.
unit: ts
	cargo test --workspace

## The typed layer (ts/) compiled by tsc into target/ts, and its pure parts
## (option reading, diagnosis) tested in Node.
ts: scripts/node_modules/.package-lock.json
	@scripts/node_modules/.bin/tsc -p ts
	@node --test --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=./www/e2e/cargo-summary.mjs --test-reporter-destination=stdout tests/ts/

scripts/node_modules/.package-lock.json: scripts/package.json scripts/package-lock.json
	cd scripts && npm ci --silent --no-audit --no-fund

## The exported API in headless Chromium.
browser:
	wasm-pack test --headless --chrome

## pkg/: the npm package, checked by installing its tarball.
package:
	scripts/build-package.sh
	scripts/check-package.sh

## The public API in headless Chromium, against pkg/ as built (tests/browser):
## TokenCache, FaunaClient, decodeJwt, diagnose and ClerkFaunaError through
## pkg/web.js, each test in a fresh page; streams and feeds against the
## stand-ins. `make package` rebuilds pkg/.
api: setup pkg/web.js tests/browser/node_modules/.package-lock.json
	@cd tests/browser && npm test --silent

tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund

## Where the token may go and as whom: the built package in Node
## (pkg/node.js) against stand-ins on 127.0.0.1 that log every request.
## Uses pkg/ as built (`make package` rebuilds it).
security: pkg/node.js
	@node --test --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=./www/e2e/cargo-summary.mjs --test-reporter-destination=stdout tests/security/

## Event streams and feeds of the built package in Node (pkg/node.js),
## against the Clerk and Fauna stand-ins: events and their decoding, options,
## how a stream ends (close, break, sign-out, clear, a bad source), feeds
## page by page, a reconnection across 3 s tokens. Uses pkg/ as built.
streams: pkg/node.js
	@node --test --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=./www/e2e/cargo-summary.mjs --test-reporter-destination=stdout tests/streams/

## Gzipped bytes of the .wasm and its JS glue; fails over the limit set in
## scripts/size-report.sh.
size:
	@scripts/size-report.sh

## The demo app (www/) against local Clerk and Fauna stand-ins:
## http://127.0.0.1:5173, Ctrl-C stops it.
demo:
	@scripts/demo.sh

## End-to-end tests of the demo in headless Chromium (www/e2e), against the
## stand-ins. Uses pkg/ as built (`make package` rebuilds it).
e2e: setup pkg/web.js www/node_modules/.package-lock.json
	@cd www && npm run --silent e2e

# One build makes both (a pkg/ built before node.js existed lacks it).
pkg/web.js pkg/node.js &:
	scripts/build-package.sh

www/node_modules/.package-lock.json: www/package.json www/package-lock.json
	cd www && npm ci --no-audit --no-fund

## The README's recipes for the Fauna drivers (faunadb, fauna) and GraphQL
## clients (graphql-request, Apollo), run with the real npm packages in
## headless Chromium against the stand-ins (tests/clients), and the `fauna`
## driver's event streams through httpClient() across token expiries (in
## Chromium and in Node). Uses pkg/ as built.
clients: setup pkg/web.js tests/clients/node_modules/.package-lock.json
	@cd tests/clients && npm test --silent

# --ignore-scripts: faunadb's postinstall script calls the network.
tests/clients/node_modules/.package-lock.json: tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund --ignore-scripts

## The package in each environment it serves (tests/environments): built by
## Vite and by webpack 5 and run in headless Chromium, as plain ES modules with
## init(), and in Node (queries through the global fetch, server-side
## rendering), against the stand-ins; and one event stream through five
## token expiries, in Node and Chromium (streams.test.mjs). Uses pkg/ as built.
environments: setup pkg/node.js tests/environments/node_modules/.package-lock.json
	@cd tests/environments && npm test --silent

# clerk-fauna is installed there as a copy of pkg/, not a link (see its
# .npmrc): reinstalled whenever pkg/ is rebuilt.
tests/environments/node_modules/.package-lock.json: tests/environments/package.json tests/environments/package-lock.json pkg/node.js
	cd tests/environments && npm ci --no-audit --no-fund

## The benchmark suite (bench/) in headless Chromium and Node: prints a table
## and writes BENCHMARKS.md. A report, not a test (not part of `make test`),
## but it exits non-zero when a stream loses, repeats or reorders an event;
## builds pkg/ first when it is missing.
bench: bench/node_modules/.package-lock.json
	@[ -x /usr/bin/chromium ] || $(MAKE) --no-print-directory setup
	@node bench/run.mjs

bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --ignore-scripts
