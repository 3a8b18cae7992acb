#!/usr/bin/env bash
# Runs the Go toolchain the project uses (the machine's Go >= 1.24, else the one
# scripts/setup.sh installed in .tools/govenv), offline: the SDK needs no module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
go=go
if ! command -v go >/dev/null 2>&1 || ! go version | grep -Eq 'go1\.(2[4-9]|[3-9][0-9])'; then
  go="$root/.tools/govenv/bin/go"
fi
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod
exec "$go" "$@"
