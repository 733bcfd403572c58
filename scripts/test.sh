#!/usr/bin/env bash
# The test command: installs build dependencies (and PostgreSQL when none answers),
# then runs the whole suite: every test on the embedded SQLite backend, then the
# service and ledger tests again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
DOMOPT_TEST_PG=$(scripts/pg.sh)
export DOMOPT_TEST_PG
# Databases earlier runs left behind (one per test data directory).
if command -v psql >/dev/null; then
    psql "$DOMOPT_TEST_PG" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'domopt_t_%'" |
        while read -r db; do psql "$DOMOPT_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" || true; done
fi
cargo test --all-targets
DOMOPT_TEST_STORAGE=postgres cargo test --test ledger --test service --test service_faults \
    --test service_operations --test auth
# The operations page in a real browser, when Debian's chromium is installed
# (apt-get install chromium); it writes target/ops-page.png.
if command -v chromium >/dev/null; then
    cargo test --test page -- --ignored
else
    echo "chromium not installed: the browser test of the operations page is skipped"
fi
cargo clippy --all-targets -- -D warnings
cargo fmt --check
