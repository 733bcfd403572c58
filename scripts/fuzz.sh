#!/usr/bin/env bash
# Fuzzes every reader of untrusted input (fuzz/fuzz_targets/) with cargo-fuzz and
# libFuzzer, one target after another, each for SECONDS (default 60), and prints per
# target the inputs executed and whether it found a crash. Exits 1 on a finding; the
# input is then in fuzz/artifacts/TARGET/. Needs the nightly toolchain, so it is not
# part of CI.
#   usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (all targets when none named)
# Each run starts from the committed seeds (fuzz/corpus/TARGET, never written to) and
# from what earlier runs found (fuzz/target/corpus/TARGET, a cache).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
case $secs in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]" >&2; exit 2 ;; esac
targets=(instance plan network orders inventory)
[ $# -le 1 ] || targets=("${@:2}")

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo +nightly fuzz build

logs=fuzz/target/logs
mkdir -p "$logs"
found=0
summary=()
for t in "${targets[@]}"; do
  work=fuzz/target/corpus/$t
  mkdir -p "$work" "fuzz/artifacts/$t"
  marker=$logs/$t.start
  touch "$marker"
  echo "== $t: ${secs} s" >&2
  status=0
  cargo +nightly fuzz run "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -print_final_stats=1 >"$logs/$t.log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$logs/$t.log" | tail -1)
  new=$(find "fuzz/artifacts/$t" -type f -newer "$marker" | sort)
  if [ "$status" -ne 0 ] || [ -n "$new" ]; then
    found=1
    summary+=("$(printf '%-10s %12s executions  FINDING (exit %s) %s' "$t" "${execs:-?}" "$status" "$(echo $new)")")
    grep -m1 -A12 -E "panicked|ERROR: libFuzzer|ERROR: AddressSanitizer" "$logs/$t.log" >&2 || tail -20 "$logs/$t.log" >&2
  else
    summary+=("$(printf '%-10s %12s executions  no crash' "$t" "${execs:-?}")")
  fi
done

echo "fuzzed ${secs} s per target (logs in $logs/):"
printf '%s\n' "${summary[@]}"
exit "$found"
