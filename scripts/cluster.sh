#!/usr/bin/env bash
# A local cluster of `domopt serve` replicas sharing one PostgreSQL database: takes the
# server from scripts/pg.sh, creates database DB (dropped and recreated first unless
# KEEP=1), starts N replicas of the release binary on 127.0.0.1:PORT.. (one port
# each), waits until each answers /healthz, prints their base URLs comma-separated
# (ready for `domopt load --url`) and stays until Ctrl-C, which stops them.
# `scripts/cluster.sh stop` stops a cluster started elsewhere. Pids, logs and the URL
# list go to target/cluster/ (replica-I.pid, replica-I.log, urls).
# Usage: [DB=domopt_cluster] [KEEP=1] [PORT=8181] scripts/cluster.sh N [extra serve args...]
#        scripts/cluster.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=target/cluster
BIN=./target/release/domopt

# The pid in pid file $1 when that process is still a `domopt serve`.
live_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -q "domopt serve" \
        && echo "$pid"
}

# SIGTERM to every replica of the pid files, then waits for them to finish their open
# window and exit (SIGKILL after 30 s).
stop_all() {
    local pids=() f pid
    for f in "$DIR"/replica-*.pid; do
        [ -e "$f" ] || continue
        if pid=$(live_pid "$f"); then pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; fi
        rm -f "$f"
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    for _ in $(seq 300); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && { echo "replicas stopped: ${#pids[@]}" >&2; return 0; }
        sleep 0.1
    done
    echo "replicas still running after 30 s: killing ${pids[*]}" >&2
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

if [ "${1:-}" = stop ]; then
    stop_all
    exit 0
fi
N=${1:?usage: scripts/cluster.sh N [extra serve args...] | scripts/cluster.sh stop}
shift
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive number, not '$N'" >&2; exit 2; }
DB=${DB:-domopt_cluster}
[[ $DB =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "DB must be a plain lower-case name, not '$DB'" >&2; exit 2; }
PORT=${PORT:-8181}

mkdir -p "$DIR"
for f in "$DIR"/replica-*.pid; do
    if [ -e "$f" ] && live_pid "$f" >/dev/null; then
        echo "a cluster is running ($f): scripts/cluster.sh stop first" >&2
        exit 1
    fi
done
rm -f "$DIR"/replica-*.pid "$DIR"/replica-*.log "$DIR"/urls

bash scripts/deps.sh
cargo build --release --quiet
ADMIN=$(scripts/pg.sh)
URL="${ADMIN%/*}/$DB"
if [ "${KEEP:-0}" != 1 ]; then
    PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >&2
fi
if [ -z "$(psql "$ADMIN" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql "$ADMIN" -qc "CREATE DATABASE $DB" >&2
fi

trap 'stop_all; exit 130' INT TERM
urls=()
for i in $(seq "$N"); do
    port=$((PORT + i - 1))
    "$BIN" serve --database "$URL" --listen "127.0.0.1:$port" --data "$DIR" "$@" \
        > "$DIR/replica-$i.log" 2>&1 &
    echo $! > "$DIR/replica-$i.pid"
    urls+=("http://127.0.0.1:$port")
done
for i in $(seq "$N"); do
    url=${urls[$((i - 1))]}
    for _ in $(seq 100); do
        curl -fs "$url/healthz" >/dev/null 2>&1 && break
        live_pid "$DIR/replica-$i.pid" >/dev/null || break
        sleep 0.1
    done
    if ! curl -fs "$url/healthz" >/dev/null 2>&1; then
        echo "replica $i ($url) did not come up; its log:" >&2
        cat "$DIR/replica-$i.log" >&2
        stop_all
        exit 1
    fi
done
(IFS=,; echo "${urls[*]}") | tee "$DIR/urls"
echo "$N replicas on database $DB (logs in $DIR/); Ctrl-C or scripts/cluster.sh stop stops them" >&2
wait || true
