#!/usr/bin/env python3
"""Runs wrk and `host run` (hello example) against the same demo target and prints requests
per second and requests per CPU-second of each load generator, and their ratio.

The target runs on one core, each load generator alone on the other; request counts come
from the target's own counter, CPU time from the generator's rusage (user + system).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from artifacts import HELLO, HOST, ROOT


def pinned(core, argv):
    cores = os.cpu_count() or 1
    if cores >= 2:
        return ["taskset", "-c", str(core), *argv]
    return argv


def served(url):
    with urllib.request.urlopen(f"{url}/_target/stats", timeout=5) as response:
        return json.load(response)["requests"]


def measure(name, argv, url):
    before = served(url)
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name} failed: {process.stderr.read().decode(errors='replace')}")
    requests = served(url) - before
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "tool": name,
        "requests": requests,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rps": requests / wall,
        "requests_per_cpu_s": requests / cpu if cpu > 0 else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per tool")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections = host VUs")
    args = parser.parse_args()

    target = subprocess.Popen(
        pinned(1, [str(HOST), "target", "--listen", "127.0.0.1:0"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = target.stdout.readline().strip()
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("http://"):
            sys.exit(f"unexpected target output: {line!r}")
        d, c = args.duration, args.connections
        # A short warm-up so both tools meet a warm target.
        subprocess.run(pinned(0, ["wrk", "-t1", "-c", str(c), "-d", "2s", f"{url}/"]), capture_output=True)
        results = [
            measure("wrk", pinned(0, ["wrk", "-t1", "-c", str(c), "-d", f"{d}s", f"{url}/"]), url),
            measure(
                "loadwright",
                pinned(0, [str(HOST), "run", str(HELLO), "--host", url, "--vus", str(c),
                           "--duration", f"{d}s", "--quiet"]),
                url,
            ),
        ]
    finally:
        target.terminate()
        target.wait()

    print(f"keep-alive GET loop, {c} connections/VUs, {d}s each, generator pinned to core 0, target to core 1")
    print(f"{'tool':<12} {'requests':>10} {'wall s':>8} {'cpu s':>8} {'req/s':>10} {'req/cpu-s':>11}")
    for r in results:
        print(f"{r['tool']:<12} {r['requests']:>10} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['rps']:>10.0f} {r['requests_per_cpu_s']:>11.0f}")
    wrk, lw = results
    print(f"loadwright / wrk: {lw['rps'] / wrk['rps']:.2f} of the requests per second, "
          f"{lw['requests_per_cpu_s'] / wrk['requests_per_cpu_s']:.2f} of the requests per CPU-second")
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"compare-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
