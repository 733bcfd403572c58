#!/usr/bin/env bash
# Generates the large datasets reproducibly (they are not committed: regenerating is
# smaller than storing). Same seeds and parameters, same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
B=target/release/domopt
mkdir -p datasets/large
$B generate --orders 10000 --nodes 50 --skus 2000 --seed 1 --out datasets/large/window-10k.json.gz
$B generate --orders 100000 --nodes 100 --skus 5000 --seed 1 --out datasets/large/window-100k.json.gz
$B generate --orders 50000 --nodes 50 --skus 2000 --seed 5 --timestamps --out datasets/large/day-50k-timestamped.json.gz
ls -la datasets/large
