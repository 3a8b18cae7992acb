#!/usr/bin/env bash
# The browser tests (tests/web): the dashboard of `host serve` and the HTML report, in
# Debian's headless Chromium driven by playwright-core. Needs the debug host and the example
# guests that `cargo test --workspace` builds (or LOADWRIGHT_HOST); SCREENSHOTS_DIR=docs/web
# refreshes the screenshots the docs show (default: target/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --web
cd tests/web
exec node --test --test-concurrency=1 --test-timeout=300000
