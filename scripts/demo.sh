#!/usr/bin/env bash
# The newcomer's one command: installs what is missing, builds the host and the example
# scenarios, and runs the `shop` example against the built-in demo target on loopback.
# Extra arguments go to `host run` (for example: --vus 20 --duration 30s).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "building the host (release; the first build takes several minutes)..."
cargo build --release --quiet -p loadwright-host
echo "building the example scenarios..."
(cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)

exec target/release/host run target/wasm/wasm32-wasip2/release/shop.wasm --target-demo "$@"
