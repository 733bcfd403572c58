#!/usr/bin/env bash
# The test command: installs build dependencies, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --all-targets
cargo clippy --all-targets -- -D warnings
cargo fmt --check
