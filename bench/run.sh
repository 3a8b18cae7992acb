#!/usr/bin/env bash
# Benchmarks `host run` against wrk on a keep-alive GET loop, both driving the same local
# target (the built-in demo target), each load generator pinned to its own core.
# Usage: bench/run.sh [--duration SECONDS] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (the reference load generator)..."
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release --quiet -p loadwright-host
(cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)
exec python3 bench/compare.py "$@"
