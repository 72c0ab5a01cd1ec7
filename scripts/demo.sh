#!/usr/bin/env bash
# `make demo`: the demo app (www/), on @clerk/react and clerk-js, against the
# local Clerk and Fauna stand-ins, with no account, key or configuration. Installs what is missing (setup.sh),
# builds the npm package and the stand-ins, starts the stand-ins on
# 127.0.0.1:8444 (Clerk) and :8443 (Fauna) and Vite on :5173, prints the URL,
# and stops all of it on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

CLERK_PORT=8444
FAUNA_PORT=8443
VITE_PORT=5173

say() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }

scripts/setup.sh
say "building the npm package into pkg/"
scripts/build-package.sh
if [ ! www/node_modules/.package-lock.json -nt www/package-lock.json ]; then
  say "installing the demo's npm dependencies"
  (cd www && npm ci --no-audit --no-fund)
fi
say "building the stand-ins"
cargo build --quiet -p clerk-fauna-devserver

# Job control: each background job gets its own process group, so stopping
# one kills everything it started (npm, node, ...) and nothing else.
set -m
pids=()
logdir=$(mktemp -d)
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logdir"
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

target/debug/clerk-fauna-devserver --clerk-port "$CLERK_PORT" --fauna-port "$FAUNA_PORT" \
  >"$logdir/ready" 2>"$logdir/devserver.log" &
pids+=($!)

# The stand-ins print one READY line with their URLs once both listen.
for _ in $(seq 300); do
  grep -q '^READY ' "$logdir/ready" && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    cat "$logdir/devserver.log" >&2
    echo "demo: the stand-ins did not start (ports $CLERK_PORT/$FAUNA_PORT in use?)" >&2
    exit 1
  fi
  sleep 0.1
done
ready=$(grep '^READY ' "$logdir/ready") || { echo "demo: no READY line from the stand-ins" >&2; exit 1; }
clerk_url=$(sed 's/.*"clerk":"\([^"]*\)".*/\1/' <<<"$ready")
fauna_url=$(sed 's/.*"fauna":"\([^"]*\)".*/\1/' <<<"$ready")

# clerk-js talks to the stand-in through ClerkProvider's proxyUrl, with a
# key derived from its host (www/src/config.ts); a real key is ignored here.
(cd www && VITE_CLERK_PUBLISHABLE_KEY= VITE_CLERK_PROXY_URL="$clerk_url" VITE_FAUNA_URL="$fauna_url" \
  exec node_modules/.bin/vite --host 127.0.0.1 --port "$VITE_PORT" --strictPort --clearScreen false --logLevel warn) &
pids+=($!)

app="http://127.0.0.1:$VITE_PORT"
for _ in $(seq 300); do
  node -e "fetch('$app/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "demo: Vite did not start (port $VITE_PORT in use?)" >&2; exit 1; }
  sleep 0.1
done

cat <<EOF

  clerk-fauna demo:  $app/
  with 3 s tokens:   $app/?template=fauna-short&minValiditySeconds=1&refreshAheadSeconds=1

  Clerk stand-in $clerk_url, Fauna stand-in $fauna_url (log: $logdir/devserver.log)
  Ctrl-C stops everything.

EOF

# Either one ending (a crash, a port taken later) ends the demo.
wait -n "${pids[@]}" || true
say "a server stopped; shutting down"
