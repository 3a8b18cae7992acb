#!/usr/bin/env bash
# Every check main must pass: formatting, lints, and all tests (unit and integration; the
# integration tests build their guest components from source).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh
cargo fmt --all -- --check
# The guests are workspaces of their own, outside `--all`.
for guests in guest-examples tests/guests; do
  (cd "$guests" && cargo fmt --all -- --check)
done
cargo clippy --all-targets --quiet -- -D warnings
# The SDK's optional JSON helpers are linted too.
cargo clippy -p loadwright --features json --all-targets --quiet -- -D warnings
# Documentation builds without warnings (broken links included).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# The guests (examples and test guests) are linted for their own target.
for guests in guest-examples tests/guests; do
  (cd "$guests" && cargo clippy --quiet --target wasm32-wasip2 --target-dir "$root/target/wasm" -- -D warnings)
done
cargo test --workspace
