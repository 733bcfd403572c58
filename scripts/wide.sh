#!/usr/bin/env bash
# Retailer-scale benchmark: 10,000 orders over 1,000 nodes x 200,000 skus (about
# 4.3 million inventory rows), generated with seed SEED (default 1).
#  1. `domopt solve --time-limit 10`: whole-command seconds, peak memory, the time to
#     read the instance, and the gap to the proved bound.
#  2. `domopt serve` with that network and stock loaded: one 10,000-order window
#     (budget BUDGET, default 10 s) decided after its budget by how much, submit and
#     ATP latency, and the server's memory (peak, and resident when idle afterwards).
# Usage: [SEED=n] [BUDGET=s] scripts/wide.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
B=./target/release/domopt
SEED=${SEED:-1}
BUDGET=${BUDGET:-10}
PORT=${PORT:-18090}
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

echo "== generate"
/usr/bin/time -f "generated in %e s, peak %M KiB" \
    $B generate --orders 10000 --nodes 1000 --skus 200000 --seed "$SEED" --out "$WORK/wide.json"
echo "== solve --time-limit 10"
/usr/bin/time -f "whole command %e s, peak %M KiB" \
    $B solve "$WORK/wide.json" --time-limit 10 --out "$WORK/plan.json"
$B check "$WORK/wide.json" "$WORK/plan.json" | tail -n 1

echo "== serve (window of 10,000 orders, budget $BUDGET s)"
$B serve --listen 127.0.0.1:$PORT --data "$WORK/data" --window 600 --max-orders 10000 \
    --budget "$BUDGET" > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
$B load --url http://127.0.0.1:$PORT --rate 5000 --seconds 2 --batch 100 --concurrency 16 \
    --nodes 1000 --skus 200000 --seed "$SEED" | tail -n 1
grep "window decided" "$WORK/serve.log" | sed "s/\x1b\[[0-9;]*m//g" | cut -c 60-
grep -E "VmHWM|VmRSS" /proc/$SERVER/status | tr -s ' \t' ' '
