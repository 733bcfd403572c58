#!/usr/bin/env bash
# Solves a fixed set of windows from both families (`domopt generate` and the independent
# generator under ../shared/bench/tools) and writes one digest line per plan: its objective
# and a hash of its shipments and unfilled lines. Status and bound are left out: on windows
# whose proof runs out of budget they depend on timing, while the plan itself does not. Two runs of this script, before and after a refactoring, must print the same
# lines when the refactoring is pure.
#   usage: scripts/same-plans.sh [BINARY] > digests.txt
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/domopt}"
gen="../shared/bench/tools/gen.py"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
digest() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, sys
name, path = sys.argv[1], sys.argv[2]
p = json.load(open(path))
body = json.dumps([p["shipments"], p["unfilled"]], sort_keys=True).encode()
print(f'{name} {p["objective"]:.6f} {hashlib.sha256(body).hexdigest()[:16]}')
PY
}
for seed in 1 2 3 4 5 6; do
  for spec in "400 12 200 1.0" "1000 20 500 1.3" "2000 30 800 1.0"; do
    read -r orders nodes skus tight <<<"$spec"
    "$bin" generate --orders "$orders" --nodes "$nodes" --skus "$skus" --seed "$seed" \
      --tightness "$tight" --out "$work/g.json"
    "$bin" solve "$work/g.json" --time-limit 60 --out "$work/p.json" 2>/dev/null
    digest "gen-$orders-$tight-s$seed" "$work/p.json"
    if [ -f "$gen" ]; then
      python3 "$gen" --orders "$orders" --nodes "$nodes" --skus "$skus" --seed "$seed" \
        --tightness "$tight" --out "$work/b.json" >/dev/null 2>&1
      "$bin" solve "$work/b.json" --time-limit 60 --out "$work/p.json" 2>/dev/null
      digest "bench-$orders-$tight-s$seed" "$work/p.json"
    fi
  done
done
