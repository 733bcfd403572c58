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
