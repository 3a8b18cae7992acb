#!/usr/bin/env bash
# The API against a client nobody here wrote: schemathesis (PyPI, installed by
# `scripts/setup.sh --api` into .tools/apivenv) runs every check, the stateful phase that
# follows the document's links included, against the real `host serve` on loopback, with
# the tenant, admin and agent tokens (tests/api/schemathesis.toml). It fails on any failure
# or error, and when an operation of the platform's API never answered with a 2xx
# (tests/api/coverage.py). Needs the debug host and the example guests that `cargo test
# --workspace` builds (or LOADWRIGHT_HOST); everything runs in a temporary directory and is
# stopped at the end, bounded by API_TEST_TIMEOUT seconds (default 600). What it leaves in
# target/api-test: the document, every request and answer (HAR), schemathesis' events
# (NDJSON, the failures' cases included) and the server's log. Arguments go to
# schemathesis (`--include-operation-id createRun --phases coverage,fuzzing`: one operation;
# the 2xx check is then skipped). docs/server.md has the whole.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh --api

host=${LOADWRIGHT_HOST:-$root/target/debug/host}
guests=$root/target/wasm/wasm32-wasip2/release
[[ -x $host ]] || cargo build --quiet -p loadwright-host
if [[ ! -f $guests/hello.wasm ]]; then
  (cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)
fi

work=$(mktemp -d)
reports=$root/target/api-test
rm -rf "$reports"
mkdir -p "$reports"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
export TENANT_TOKEN=tenant-token ADMIN_TOKEN=admin-token AGENT_TOKEN=agent-token
cat > "$work/server.toml" <<TOML
admin-token-sha256 = "$(sha "$ADMIN_TOKEN")"
agent-token-sha256 = ["$(sha "$AGENT_TOKEN")"]

[[tenant]]
name = "acme"
token-sha256 = ["$(sha "$TENANT_TOKEN")"]
egress = { allow = ["127.0.0.0/8"] }
quotas = { concurrent-runs = 8, vus-per-run = 10, vus-total = 40 }
limits = { runTimeout = "5m" }
TOML

"$host" target --listen 127.0.0.1:0 > "$work/target.out" &
pids+=($!)
"$host" serve --listen 127.0.0.1:0 --data-dir "$work/data" --config "$work/server.toml" \
  --shutdown-grace 1s > "$work/serve.out" 2> "$reports/serve.log" &
pids+=($!)
for _ in $(seq 100); do
  [[ -s "$work/target.out" && -s "$work/serve.out" ]] && break
  sleep 0.1
done
export API_TARGET=$(grep -o 'http://[0-9.:]*' "$work/target.out" | head -1)
api=$(grep -o 'http://[0-9.:]*' "$work/serve.out" | head -1)
[[ -n $api && -n $API_TARGET ]] || { echo "the server or the target did not start" >&2; cat "$reports/serve.log" >&2; exit 1; }

# The resources the operations that take ids need, made the way a platform makes them.
call() {
  curl -sf -H "Authorization: Bearer $TENANT_TOKEN" "$@"
}
id_of() { sed -E 's/.*"id":"([0-9a-f]+)".*/\1/'; }
upload() {
  call -X POST -H 'Content-Type: application/wasm' --data-binary "@$1" "$api/v1/scenarios" | id_of
}
start() {
  call -X POST -H 'Content-Type: application/json' -d "$1" "$api/v1/runs" | id_of
}
agent() {
  curl -sf -H "Authorization: Bearer $AGENT_TOKEN" -H 'Content-Type: application/json' "$@"
}
# The scenario runs are made of, which stays (runs in progress use it: a 409 to delete it),
# and a copy of it that schemathesis uploads, runs and deletes (a custom section makes it
# another component, with another id).
export API_COMPONENT=$work/hello-copy.wasm API_RESULT_FILE=$work/hello.result
export API_SCENARIO=$(upload "$guests/hello.wasm")
"$root/.tools/apivenv/bin/python" - "$guests/hello.wasm" "$API_COMPONENT" <<'PY'
import sys
name, payload = b"api-test", b"a copy"
content = bytes([len(name)]) + name + payload
with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as copy:
    copy.write(source.read() + bytes([0, len(content)]) + content)
PY
# A finished run (its reports), and two running ones, light (one VU, a request every half
# second): one to pause, resume and resize, one to stop.
export API_FINISHED_RUN=$(start "{\"scenario\":\"$API_SCENARIO\",\"vus\":1,\"iterations\":3,\"base_url\":\"$API_TARGET\"}")
light="\"scenario\":\"$API_SCENARIO\",\"vus\":1,\"duration\":\"5m\",\"base_url\":\"$API_TARGET\",\"params\":{\"think_ms\":\"500\"}"
export API_RUNNING_RUN=$(start "{$light}")
export API_STOPPABLE_RUN=$(start "{$light}")
# Two distributed runs, each with one part an agent holds as `host agent` would after its
# poll: one whose part is readied and handed intervals, one whose part ends. Their
# intervals are a minute long, so that a part is not lost while it is silent.
export LOADWRIGHT_VERSION=$("$host" --version | cut -d' ' -f2)
distributed() { # RUN_VARIABLE AGENT
  local run
  run=$(start "{$light,\"agents\":1,\"plan\":{\"statsInterval\":\"1m\"}}")
  agent -X POST -d "{\"id\":\"$2\",\"name\":\"api-test\",\"version\":\"$LOADWRIGHT_VERSION\"}" \
    "$api/v1/agents/poll" | grep -q "\"run\":\"$run\"" \
    || { echo "agent $2 was not handed the distributed run's part" >&2; exit 1; }
  export "$1=$run"
}
export API_AGENT=api-test-agent API_ENDING_AGENT=api-test-ending-agent
distributed API_PART_RUN "$API_AGENT"
distributed API_ENDING_RUN "$API_ENDING_AGENT"
# A real run's records: the interval and the final status agents hand in.
"$host" run "$guests/hello.wasm" --target-demo --vus 1 --iterations 1 --quiet \
  --out "result=$API_RESULT_FILE" > /dev/null
for _ in $(seq 100); do
  call "$api/v1/runs/$API_FINISHED_RUN" | grep -q '"state":"completed"' && break
  sleep 0.1
done
call "$api/v1/runs/$API_FINISHED_RUN" | grep -q '"state":"completed"' \
  || { echo "run $API_FINISHED_RUN did not complete in 10 s" >&2; exit 1; }

curl -sf "$api/v1/openapi.json" > "$reports/openapi.json"
cd tests/api
# Hypothesis keeps its own files with the run's, out of the source tree.
export SCHEMATHESIS_HOOKS=hooks HYPOTHESIS_STORAGE_DIRECTORY=$work/hypothesis
timeout "${API_TEST_TIMEOUT:-600}" "$root/.tools/apivenv/bin/schemathesis" \
  run "$api/v1/openapi.json" --checks all --seed 20261203 --generation-database none \
  --no-color --report har,ndjson --report-har-path "$reports/requests.har" \
  --report-ndjson-path "$reports/events.ndjson" "$@"
# Only the whole run says whether every operation answered with a 2xx.
if [[ $# -eq 0 ]]; then
  "$root/.tools/apivenv/bin/python" coverage.py "$reports/openapi.json" "$reports/requests.har"
fi
