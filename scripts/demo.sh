#!/usr/bin/env bash
# The main job on the embedded default: build, generate a realistic window, solve it
# with the MIP and the greedy baselines, and check every plan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release
B=target/release/domopt
mkdir -p out
$B generate --orders 1000 --nodes 20 --skus 500 --seed 1 --out out/window-1000.json
for s in mip cheapest closest fewest-splits; do
  $B solve out/window-1000.json --solver "$s" --time-limit 10 --out "out/plan-$s.json"
  $B check out/window-1000.json "out/plan-$s.json" | tail -n 1
done

# The service on its embedded database: start it, load a network and stock, submit
# orders for a few seconds at 2,000 orders/s, wait for every window, print the figures.
DATA=$(mktemp -d)
$B serve --listen 127.0.0.1:18080 --data "$DATA" --window 2 --budget 1 > "$DATA/serve.out" 2> "$DATA/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do grep -q listening "$DATA/serve.out" 2>/dev/null && break; sleep 0.1; done
$B load --url http://127.0.0.1:18080 --rate 2000 --seconds 5 --nodes 20 --skus 500 | tail -n 1
command -v curl >/dev/null && curl -s 'http://127.0.0.1:18080/v1/windows?limit=1' | head -c 600; echo
