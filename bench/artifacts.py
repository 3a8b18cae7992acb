"""What the benchmarks run and measure: the release host, the hello example, and a
process's resident memory."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `LOADWRIGHT_HOST` names another build to measure (a bolted one, an older one).
HOST = Path(os.environ.get("LOADWRIGHT_HOST", ROOT / "target/release/host"))
HELLO = ROOT / "target/wasm/wasm32-wasip2/release/hello.wasm"
# oha, the reference load generator in Rust, installed by bench/run.sh.
OHA = ROOT / "bench/.tools/bin/oha"


def require_built():
    """Exits with what to do when the host or the example is not built."""
    if not HOST.exists() or not HELLO.exists():
        sys.exit("build first: bench/run.sh does, or cargo build --release -p loadwright-host "
                 "and the examples (cd guest-examples && cargo build --release --target "
                 "wasm32-wasip2 --target-dir ../target/wasm)")


def _field_kib(path, key):
    """The value in KiB of the line starting with `key` in `path` (0 once it is gone)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def rss_kib(pid):
    """The resident memory of process `pid`, in KiB (0 once it is gone)."""
    return _field_kib(f"/proc/{pid}/status", "VmRSS:")


def pss_kib(pid):
    """The proportional set size of process `pid`, in KiB: resident memory with each shared
    page divided among the mappings that share it (0 once it is gone). Pages of the
    compiled component's data image, mapped once per VU, count once here, N times in RSS."""
    return _field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
