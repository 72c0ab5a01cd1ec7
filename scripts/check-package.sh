#!/usr/bin/env bash
# Packs pkg/ with `npm pack`, installs the tarball into a scratch project the
# way a user would, and checks that every entry of its `exports` map resolves
# to a file that was installed.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack ./pkg --pack-destination "$scratch" --silent | tail -n 1)
here=$PWD; cd "$scratch"
echo '{"name":"scratch","private":true,"type":"module"}' > package.json
# @types/react: the React entry's declarations import from it.
npm install --silent --no-audit --no-fund "./$tarball" @types/react@19.3.0
node "$here/scripts/check-package.mjs"

# The declarations, from a consumer's side: strict, and wrong uses rejected.
cp "$here/scripts/consumer/consumer.ts" "$here/scripts/consumer/tsconfig.json" .
[ -x "$here/scripts/node_modules/.bin/tsc" ] || (cd "$here/scripts" && npm ci --silent --no-audit --no-fund)
"$here/scripts/node_modules/.bin/tsc" -p tsconfig.json
echo "package: a consumer using every export type-checks under tsc --strict"
