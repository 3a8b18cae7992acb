#!/usr/bin/env bash
# Installs what Loadwright needs on a fresh machine (idempotent): the wasm32-wasip2 Rust
# target for building scenarios. Run from anywhere.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 target (scenarios are built for it)..."
  rustup target add wasm32-wasip2
fi
