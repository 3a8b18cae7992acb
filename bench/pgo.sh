#!/usr/bin/env bash
# Builds the host with profile-guided optimisation into target/pgo/release/host, the build
# the benchmarks measure (bench/run.sh calls this): an instrumented build runs the
# benchmarks' workloads (bench/pgo_train.py: hello against nginx over HTTP and HTTPS, 64 and
# 1000 VUs, new connections with and without resumption; shop against the demo target),
# then the optimised build uses what it counted. Both builds keep their own target
# directory (target/pgo-gen, target/pgo), so the ordinary release build is left alone. From
# scratch, 24 minutes on this two-core VM.
# Expects bench/run.sh's tools (nginx, openssl) and the examples built.
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD"
profiles="$root/target/pgo/profiles"
profdata="$root/target/pgo/host.profdata"

# llvm-profdata merges the raw counts. The Rust toolchain's own (rustup's llvm-tools) when
# installed, else Debian's llvm-19: it reads the raw profiles of the newer LLVM in rustc.
profdata_tool="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [[ ! -x "$profdata_tool" ]]; then
  profdata_tool=/usr/lib/llvm-19/bin/llvm-profdata
  if [[ ! -x "$profdata_tool" ]]; then
    echo "installing llvm-19 (llvm-profdata, to merge the profile)..."
    apt-get install -y --no-install-recommends llvm-19 >/dev/null 2>&1 \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends llvm-19 >/dev/null; }
  fi
fi

echo "building the instrumented host (target/pgo-gen)..."
RUSTFLAGS="-Cprofile-generate=$profiles" \
  cargo build --release --quiet -p loadwright-host --target-dir target/pgo-gen
# Build scripts and proc macros ran instrumented too, and an earlier training left its
# counts: only this training's are kept.
rm -rf "$profiles"
echo "running the training workloads..."
python3 bench/pgo_train.py target/pgo-gen/release/host
"$profdata_tool" merge -o "$profdata" "$profiles"/*.profraw

echo "building the optimised host (target/pgo/release/host)..."
RUSTFLAGS="-Cprofile-use=$profdata" \
  cargo build --release --quiet -p loadwright-host --target-dir target/pgo
