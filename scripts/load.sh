#!/usr/bin/env bash
# Load benchmark of `domopt serve` on loopback: starts a server on a fresh data dir,
# submits generated orders in batches of 100 at the target rate, prints the figures.
# Usage: [WINDOW=s] [BUDGET=s] [AUTH=1] scripts/load.sh [RATE] [SECONDS] [extra serve args...]
# AUTH=1 serves with --api-keys (one admin key) and loads with that key.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
RATE=${1:-5000}
SECONDS_=${2:-30}
shift $(( $# > 2 ? 2 : $# ))
DATA=$(mktemp -d)
PORT=${PORT:-18080}
if [ "${AUTH:-0}" = 1 ]; then
    DOMOPT_API_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    export DOMOPT_API_KEY
    echo "$(printf %s "$DOMOPT_API_KEY" | ./target/release/domopt hash-key) admin load" > "$DATA/keys"
    set -- --api-keys "$DATA/keys" "$@"
fi
./target/release/domopt serve --listen 127.0.0.1:$PORT --data "$DATA" --window "${WINDOW:-5}" --budget "${BUDGET:-2}" "$@" \
    > "$DATA/serve.out" 2> "$DATA/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do grep -q listening "$DATA/serve.out" 2>/dev/null && break; sleep 0.1; done
kill -0 $SERVER 2>/dev/null || { cat "$DATA/serve.log" >&2; exit 1; }
if [ "${PAGE:-0}" = 1 ]; then
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$DATA/chromium" --remote-debugging-port=0 \
        "http://127.0.0.1:$PORT/" > /dev/null 2>&1 &
    BROWSER=$!
    trap 'kill $BROWSER $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
fi
./target/release/domopt load --url http://127.0.0.1:$PORT --rate "$RATE" --seconds "$SECONDS_" \
    --batch 100 --concurrency 16 --nodes 50 --skus 2000
if [ "${PAGE:-0}" = 1 ]; then
    echo "page refreshes served during the run (windows chart requests):"
    curl -s "http://127.0.0.1:$PORT/metrics" | grep 'count{route="/v1/charts/windows.svg"' || echo 0
fi
grep "window decided" "$DATA/serve.log" | sed "s/\x1b\[[0-9;]*m//g" | cut -c 60-
