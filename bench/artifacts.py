"""What the benchmarks run and measure: the release host, the hello example, and a
process's resident memory."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = ROOT / "target/release/host"
HELLO = ROOT / "target/wasm/wasm32-wasip2/release/hello.wasm"


def require_built():
    """Exits with what to do when the host or the example is not built."""
    if not HOST.exists() or not HELLO.exists():
        sys.exit("build first: bench/run.sh does, or cargo build --release -p loadwright-host "
                 "and the examples (cd guest-examples && cargo build --release --target "
                 "wasm32-wasip2 --target-dir ../target/wasm)")


def rss_kib(pid):
    """The resident memory of process `pid`, in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def pss_kib(pid):
    """The proportional set size of process `pid`, in KiB: resident memory with each shared
    page divided among the mappings that share it (0 once it is gone). Pages of the
    compiled component's data image, mapped once per VU, count once here, N times in RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0
