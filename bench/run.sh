#!/usr/bin/env bash
# Benchmarks `host run` against wrk, both driving the same local target, each load generator
# pinned to its own core. Installs what it needs (wrk, nginx, openssl from Debian's packages),
# builds the release host and the examples, then runs bench/compare.py with the arguments:
#   bench/run.sh                                   keep-alive GET loop, the demo target
#   bench/run.sh --target nginx                    the same against nginx
#   bench/run.sh --tls                             HTTPS keep-alive (nginx)
#   bench/run.sh --tls --new-connections           TLS handshakes per CPU-second
#   bench/run.sh --tls --new-connections --no-resumption
# and --duration SECONDS, --connections N, --rounds N.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (the reference load generator and target)..."
  apt-get install -y "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi
cargo build --release --quiet -p loadwright-host
(cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)
exec python3 bench/compare.py "$@"
