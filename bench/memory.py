#!/usr/bin/env python3
"""Does `host run`'s memory stay flat over a long run? Runs the release host (hello example,
an open model at a fixed rate) against the demo target with a short stats interval, so
a few minutes close as many intervals as a 30-minute run at 1 s, and samples the host's
resident memory (VmRSS) as it goes.

Usage: bench/memory.py [--seconds 180] [--interval-ms 100] [--rate 2000]
(bench/run.sh builds what it needs; run it once first, or `cargo build --release`).
"""

import argparse
import subprocess
import sys
import time

from artifacts import HELLO, HOST, require_built, rss_kib


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--rate", type=int, default=2000)
    args = parser.parse_args()
    require_built()
    argv = [
        str(HOST), "run", str(HELLO), "--target-demo", "-q",
        "--rate", str(args.rate), "--vus", "20", "--max-vus", "200",
        "--duration", f"{args.seconds}s", "--stats-interval", f"{args.interval_ms}ms",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    intervals = args.seconds * 1000 // args.interval_ms
    print(f"{intervals} intervals of {args.interval_ms} ms, {args.rate} iterations/s")
    print(f"{'elapsed s':>10} {'intervals':>10} {'requests':>10} {'RSS MiB':>8}")
    started = time.monotonic()
    samples = []
    while process.poll() is None:
        time.sleep(min(10, max(1, args.seconds // 12)))
        elapsed = time.monotonic() - started
        try:
            rss = rss_kib(process.pid) / 1024
        except FileNotFoundError:
            break
        done = int(elapsed * 1000 // args.interval_ms)
        samples.append(rss)
        print(f"{elapsed:>10.0f} {done:>10} {int(elapsed * args.rate):>10} {rss:>8.1f}")
    if process.wait() != 0:
        sys.exit(process.stderr.read().decode(errors="replace"))
    samples = [s for s in samples if s > 0]
    if len(samples) >= 4:
        half, last = samples[len(samples) // 2], samples[-1]
        print(f"RSS at half the run {half:.1f} MiB, at the end {last:.1f} MiB "
              f"({(last - half) / half * 100:+.1f} %) while the requests doubled")


if __name__ == "__main__":
    main()
