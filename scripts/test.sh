#!/usr/bin/env bash
# Every check main must pass: formatting, lints, and all tests (unit and integration; the
# integration tests build their guest components from source).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
# The SDK's optional JSON helpers are linted too.
cargo clippy -p loadwright --features json --all-targets --quiet -- -D warnings
cargo test --workspace
