#!/usr/bin/env bash
# Every check main must pass: formatting, lints, and all tests (unit and integration; the
# integration tests build their guest components from source).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh --go --web --deploy --observability --api
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
# The Go SDK: formatting, vet (natively and for wasip1, examples and test guests too), tests.
gofmt="$(scripts/go.sh env GOROOT)/bin/gofmt"
unformatted=$("$gofmt" -l sdk/go guest-examples/go-hello guest-examples/go-shop tests/guests/go-probe)
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
(cd sdk/go && ../../scripts/go.sh vet ./... && GOOS=wasip1 GOARCH=wasm ../../scripts/go.sh vet ./... \
  && ../../scripts/go.sh test ./...)
for module in guest-examples/go-hello guest-examples/go-shop tests/guests/go-probe; do
  (cd "$module" && GOOS=wasip1 GOARCH=wasm "$root/scripts/go.sh" vet ./...)
done
cargo test --workspace
scripts/web-test.sh
# The API under schemathesis, as a platform's generated client would call it.
scripts/api-test.sh
# The deployment files: the Kubernetes manifests against the API's schemas, the Dockerfile.
.tools/deployvenv/bin/python -m unittest discover -s tests/deploy
