# The project's commands. `make test` runs every test; each target installs
# what it needs first (scripts/setup.sh, idempotent).

CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMEDRIVER

.PHONY: test setup unit browser package size

## Every test: native core and stand-in tests, browser tests in headless
## Chromium, the npm package built, installed from its tarball, and sized;
## closes with one line "N passed, N failed".
test: setup
	@scripts/test-all.sh

setup:
	@scripts/setup.sh

## Native tests: the pure core and the local stand-ins.
unit:
	cargo test --workspace

## The exported API in headless Chromium.
browser:
	wasm-pack test --headless --chrome

## pkg/: the npm package, checked by installing its tarball.
package:
	scripts/build-package.sh
	scripts/check-package.sh

## Gzipped bytes of the .wasm and its JS glue.
size:
	@scripts/size-report.sh
