#!/usr/bin/env python3
"""Memory per idle VU and VUs instantiated per second, for the `hello` guest.

For each VU count, runs the release host: every VU fetches `/` once from the demo target
(served by a separate `host target` process, so its connections are not counted), then
sleeps (think_ms = 10 min), so all are parked in a `sleep` with a kept-alive connection. The stats stream (NDJSON,
100 ms intervals) says when the last VU is up; then the host's resident memory is read.
Memory per VU is the growth over a run of 100 VUs, divided by the extra VUs.

Usage: bench/vus.py [--counts 1000,10000,50000] [--closed] [--scenario PATH] [--base N]
--scenario measures another guest that takes `think_ms` (the Go example go-hello, say);
--base is the VU count the others are compared with (default 100).
With --closed (or when the open-file limit cannot give each VU a connection), the VUs'
request goes to a closed port and they park without a connection.
A pool of N VUs needs about 7 N memory mappings: past vm.max_map_count (65 530 by default)
the host refuses to start and says which sysctl to run; so does this script, which never
changes the machine itself (about 7 900 VUs fit a stock machine).
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from artifacts import HELLO, HOST, pss_kib, require_built, rss_kib


def ensure_map_count(vus):
    needed = vus * 7 + 10_000
    with open("/proc/sys/vm/max_map_count") as f:
        current = int(f.read())
    if current >= needed:
        return
    # The machine's settings are its owner's: say what to change, never change it.
    sys.exit(f"{vus} VUs need vm.max_map_count >= {needed} (now {current}): as root, "
             f"sysctl -w vm.max_map_count={needed}, and set it back when done")


def enough_files(wanted):
    """Lets this process's children open `wanted` files (each VU keeps one connection, and
    the target one per VU): raises the limit to that (root may raise the hard limit too),
    else to the hard limit. Returns the limit set."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
        return wanted
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


def measure(vus, target, scenario):
    """(RSS KiB, PSS KiB with all VUs parked, seconds to bring them up)."""
    ensure_map_count(vus)
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "intervals.ndjson"
        argv = [str(HOST), "run", str(scenario), "--host", target, "-q", "--vus", str(vus),
                "--duration", "10m", "--param", "think_ms=600000", "--graceful-stop", "0s",
                "--stats-interval", "100ms", "--out", f"ndjson={stream}"]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ramp, first = None, None
        deadline = time.monotonic() + 300
        try:
            while ramp is None and time.monotonic() < deadline:
                time.sleep(0.2)
                if process.poll() is not None:
                    sys.exit(process.stderr.read().decode(errors="replace"))
                for line in stream.read_text().splitlines() if stream.exists() else []:
                    interval = json.loads(line)
                    if first is None and interval["vus"] > 0:
                        # The interval the first VUs came up in.
                        first = interval["elapsed"] - interval["length"]
                    # Every VU is up and has sent its request: all are parked.
                    if interval["vus"] >= vus and interval["total_requests"] >= vus:
                        ramp = interval["elapsed"] - (first or 0.0)
                        break
            time.sleep(2)
            rss, pss = rss_kib(process.pid), pss_kib(process.pid)
        finally:
            process.terminate()
            process.wait()
    if ramp is None:
        sys.exit(f"{vus} VUs did not come up in 300 s")
    return rss, pss, ramp


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="1000,10000,50000")
    parser.add_argument("--scenario", default=str(HELLO), help="the guest to measure")
    parser.add_argument("--base", type=int, default=100, help="VUs of the baseline run")
    parser.add_argument("--closed", action="store_true",
                        help="point the VUs at a closed port: no connection per VU")
    args = parser.parse_args()
    require_built()
    counts = [int(c) for c in args.counts.split(",")]
    files = enough_files(max(counts) + 1000)
    if args.closed or max(counts) + 1000 > files:
        # Without enough file descriptors for a connection per VU, every VU's request is
        # refused (nothing listens on port 9) and it parks with no connection.
        print(f"VUs keep no connection (open files allowed: {files})")
        run(args, "http://127.0.0.1:9")
        return
    port = 18181
    target = subprocess.Popen([str(HOST), "target", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        run(args, f"http://127.0.0.1:{port}")
    finally:
        target.terminate()


def run(args, target):
    base = args.base
    base_rss, base_pss, _ = measure(base, target, args.scenario)
    print(f"{'VUs':>7} {'RSS MiB':>9} {'RSS KiB/VU':>11} {'PSS KiB/VU':>11} {'ramp s':>7} "
          f"{'VUs/s':>9}  (ramp to 0.1 s)")
    print(f"{base:>7} {base_rss / 1024:>9.1f}")
    for vus in [int(c) for c in args.counts.split(",")]:
        rss, pss, ramp = measure(vus, target, args.scenario)
        rss_per_vu = (rss - base_rss) / (vus - base)
        pss_per_vu = (pss - base_pss) / (vus - base)
        print(f"{vus:>7} {rss / 1024:>9.1f} {rss_per_vu:>11.1f} {pss_per_vu:>11.1f} {ramp:>7.2f} "
              f"{vus / ramp:>9.0f}")


if __name__ == "__main__":
    main()
