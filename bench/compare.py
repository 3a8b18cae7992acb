#!/usr/bin/env python3
"""Runs wrk and `host run` (the hello example) against the same target and prints requests
(or, with --new-connections, handshakes) per second and per CPU-second of each load
generator, and their ratio.

The target runs on core 1, each load generator alone on core 0, one after the other, the
pair repeated --rounds times in alternation. Counts come from the target itself (the demo
target's counter, or nginx's stub_status), CPU time from each generator's rusage (user +
system).

  --target demo            the built-in demo target (plain HTTP keep-alive)
  --target nginx           nginx from Debian's packages, one worker
  --tls                    HTTPS keep-alive (nginx), certificates checked against its CA
  --new-connections        a new connection per request (wrk: Connection: close;
                           loadwright: --connection-policy none); counts handshakes
  --no-resumption          full handshakes only (nginx without tickets or session cache;
                           loadwright --no-tls-resumption)
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from artifacts import HELLO, HOST, ROOT, require_built


def pinned(core, argv):
    cores = os.cpu_count() or 1
    if cores >= 2:
        return ["taskset", "-c", str(core), *argv]
    return argv


class DemoTarget:
    """The built-in demo target on core 1; counts requests."""

    def __init__(self):
        self.process = subprocess.Popen(
            pinned(1, [str(HOST), "target", "--listen", "127.0.0.1:0"]),
            stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        self.base = line.rsplit(" ", 1)[-1]
        if not self.base.startswith("http://"):
            sys.exit(f"unexpected target output: {line!r}")
        self.ca = None

    def url(self, kind):
        return self.base

    def status(self):
        with urllib.request.urlopen(f"{self.base}/_target/stats", timeout=5) as response:
            return 0, json.load(response)["requests"]

    def stop(self):
        self.process.terminate()
        self.process.wait()


def measure(name, argv, target, count_connections):
    """Runs `argv` to its end; what the target counted and what it cost."""
    accepts_before, requests_before = target.status()
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name} failed: {process.stderr.read().decode(errors='replace')}")
    accepts, requests = target.status()
    # The status page counts its own requests (and, for nginx, their connections).
    count = accepts - accepts_before - 1 if count_connections else requests - requests_before - 1
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "tool": name,
        "count": count,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "per_s": count / wall,
        "per_cpu_s": count / cpu if cpu > 0 else float("nan"),
    }


def commands(args, target):
    """The wrk and loadwright command lines for the chosen mode."""
    kind = "plain"
    if args.tls or args.new_connections and args.target == "nginx":
        kind = "tls-full" if args.no_resumption else "tls"
    url = target.url(kind)
    c, d = str(args.connections), f"{args.duration}s"
    wrk = ["wrk", "-t1", "-c", c, "-d", d]
    host = [str(HOST), "run", str(HELLO), "--host", url, "--vus", c, "--duration", d, "--quiet"]
    if args.new_connections:
        wrk += ["-H", "Connection: close"]
        host += ["--connection-policy", "none"]
    if url.startswith("https://"):
        host += ["--ca-cert", target.ca]
        if args.no_resumption:
            host += ["--no-tls-resumption"]
    return url, pinned(0, wrk + [f"{url}/"]), pinned(0, host)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per tool and round")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections = host VUs")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both tools")
    parser.add_argument("--target", choices=["demo", "nginx"], default="demo")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--new-connections", action="store_true")
    parser.add_argument("--no-resumption", action="store_true")
    args = parser.parse_args()
    require_built()
    if (args.tls or args.no_resumption) and args.target != "nginx":
        args.target = "nginx"
    if args.target == "nginx":
        sys.path.insert(0, str(ROOT / "bench"))
        from nginx import Nginx
        target = Nginx(core=1)
    else:
        target = DemoTarget()
    try:
        url, wrk, host = commands(args, target)
        # A short warm-up so both tools meet a warm target.
        warm_up = [("2s" if arg == f"{args.duration}s" else arg) for arg in wrk]
        subprocess.run(warm_up, capture_output=True, timeout=60)
        results = []
        for _ in range(args.rounds):
            results.append(measure("wrk", wrk, target, args.new_connections))
            results.append(measure("loadwright", host, target, args.new_connections))
    finally:
        target.stop()

    what = "handshakes" if args.new_connections else "requests"
    mode = "new connection per request" if args.new_connections else "keep-alive GET loop"
    print(f"{mode} on {url} ({args.target}), {args.connections} connections/VUs, "
          f"{args.duration}s each, generator on core 0, target on core 1")
    print(f"{'tool':<12} {what:>10} {'wall s':>8} {'cpu s':>8} {what + '/s':>14} {what + '/cpu-s':>16}")
    for r in results:
        print(f"{r['tool']:<12} {r['count']:>10} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['per_s']:>14.0f} {r['per_cpu_s']:>16.0f}")
    for i in range(0, len(results), 2):
        wrk, lw = results[i], results[i + 1]
        print(f"round {i // 2 + 1}: loadwright / wrk = {lw['per_s'] / wrk['per_s']:.2f} of the "
              f"{what} per second, {lw['per_cpu_s'] / wrk['per_cpu_s']:.2f} of the {what} per "
              f"CPU-second")
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"compare-{int(time.time())}.json").write_text(json.dumps(
        {"mode": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
