#!/usr/bin/env bash
# A platform's flow against `host serve`, with curl: upload a scenario, start a run, watch
# its live stream, fetch the report. Everything runs on loopback in a temporary directory
# and is stopped at the end. Needs curl; builds what is missing like scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --quiet -p loadwright-host
(cd guest-examples && cargo build --release --quiet --target wasm32-wasip2 --target-dir ../target/wasm)
host=target/release/host
scenario=target/wasm/wasm32-wasip2/release/shop.wasm

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A tenant `demo` whose token is `demo-token` (the config keeps its SHA-256 only), allowed
# to reach loopback, where the demo target listens.
cat > "$work/server.toml" <<TOML
[[tenant]]
name = "demo"
token-sha256 = ["$(printf %s demo-token | sha256sum | cut -d' ' -f1)"]
egress = { allow = ["127.0.0.0/8"] }
TOML

"$host" target --listen 127.0.0.1:0 > "$work/target.out" &
pids+=($!)
"$host" serve --listen 127.0.0.1:0 --data-dir "$work/data" --config "$work/server.toml" > "$work/serve.out" &
pids+=($!)
for _ in $(seq 50); do
  [[ -s "$work/target.out" && -s "$work/serve.out" ]] && break
  sleep 0.1
done
target=$(grep -o 'http://[0-9.:]*' "$work/target.out" | head -1)
api=$(grep -o 'http://[0-9.:]*' "$work/serve.out" | head -1)
auth="Authorization: Bearer demo-token"
echo "API at $api, demo target at $target"

echo; echo "1. upload the compiled scenario"
echo "   curl -X POST -H '$auth' -H 'Content-Type: application/wasm' --data-binary @shop.wasm $api/v1/scenarios"
id=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/wasm' \
  --data-binary "@$scenario" "$api/v1/scenarios" | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/')
echo "   scenario $id"

echo; echo "2. start a run: 10 VUs for 5 s against the demo target"
body="{\"scenario\":\"$id\",\"vus\":10,\"duration\":\"5s\",\"base_url\":\"$target\"}"
echo "   curl -X POST -H '$auth' -H 'Content-Type: application/json' -d '$body' $api/v1/runs"
run=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d "$body" \
  "$api/v1/runs" | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/' )
echo "   run $run"

echo; echo "3. watch the live stream (Server-Sent Events), one line per event"
echo "   curl -N -H '$auth' $api/v1/runs/$run/stream"
curl -sN -H "$auth" "$api/v1/runs/$run/stream" | while read -r line; do
  case "$line" in
    "event: "*) event=${line#event: } ;;
    "data: "*)
      data=${line#data: }
      case "$event" in
        interval) echo "   interval: $(sed -E 's/.*"elapsed":([0-9.]{1,5}).*"requests":([0-9]+).*"rps":([0-9]+).*/t=\1 s  requests=\2  rps=\3/' <<<"$data")" ;;
        *) echo "   $event: ${data:0:100}" ;;
      esac
      [[ "$event" == end ]] && break ;;
  esac
done

echo; echo "4. fetch the report: the JSON summary and Locust's CSV files"
echo "   curl -H '$auth' $api/v1/runs/$run/report"
curl -sf -H "$auth" "$api/v1/runs/$run/report" | head -c 300; echo " ..."
echo "   curl -H '$auth' $api/v1/runs/$run/report/stats.csv"
curl -sf -H "$auth" "$api/v1/runs/$run/report/stats.csv"
echo; echo "The API's whole description: curl $api/v1/openapi.json (docs/server.md)"
