#!/usr/bin/env bash
# Benchmarks `host run` against wrk and oha, all driving the same local target, each load
# generator pinned to its own core. Installs what it needs (wrk, nginx, openssl from Debian's
# packages; oha from crates.io into bench/.tools), builds the examples and the
# profile-guided host it measures (bench/pgo.sh), then runs bench/compare.py with the
# arguments:
#   bench/run.sh                                   keep-alive GET loop: nginx and the demo
#                                                  target, 64 and 1000 connections
#   bench/run.sh --targets nginx --connections 64  one target, one connection count
#   bench/run.sh --tls                             HTTPS keep-alive (nginx)
#   bench/run.sh --tls --new-connections           TLS handshakes per CPU-second
#   bench/run.sh --tls --new-connections --no-resumption
# and --duration SECONDS, --rounds N, --tools wrk,oha,loadwright.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# For bench/instructions.py: instructions and cache misses per request, counted.
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (the reference load generator, the target, valgrind)..."
  apt-get install -y "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi
if [[ ! -x bench/.tools/bin/oha ]]; then
  echo "installing oha into bench/.tools (a few minutes, once)..."
  cargo install oha --locked --quiet --root bench/.tools
fi
(cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)
# The host measured is the profile-guided build, as a release would ship it (bench/pgo.sh,
# which trains on the examples); LOADWRIGHT_HOST=target/release/host measures the ordinary
# release build instead.
if [[ -z "${LOADWRIGHT_HOST:-}" ]]; then
  bench/pgo.sh
  export LOADWRIGHT_HOST="$PWD/target/pgo/release/host"
else
  cargo build --release --quiet -p loadwright-host
fi
exec python3 bench/compare.py "$@"
