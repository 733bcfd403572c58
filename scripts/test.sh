#!/usr/bin/env bash
# The test command: installs build dependencies, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --all-targets
# The operations page in a real browser, when Debian's chromium is installed
# (apt-get install chromium); it writes target/ops-page.png.
if command -v chromium >/dev/null; then
    cargo test --test page -- --ignored
else
    echo "chromium not installed: the browser test of the operations page is skipped"
fi
cargo clippy --all-targets -- -D warnings
cargo fmt --check
