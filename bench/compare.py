#!/usr/bin/env python3
"""Runs wrk, oha and `host run` (the hello example) against the same targets and prints
requests (or, with --new-connections, handshakes) per second and per CPU-second of each
load generator, with the ratios of loadwright to the others.

Each target runs on core 1, each load generator alone on core 0, one after the other; the
tools alternate within each round, and the table gives the median of the rounds. Counts
come from the target itself (the demo target's counter, or nginx's stub_status), CPU time
from each generator's rusage (user + system).

  --targets nginx,demo     nginx from Debian's packages (one worker), the built-in demo
                           target (plain HTTP keep-alive), or both, one after the other
  --connections 64,1000    connections per tool (loadwright: VUs), each count in turn
  --tools wrk,oha,loadwright
                           oha is skipped with a note when bench/.tools has none
                           (bench/run.sh installs it)
  --tls                    HTTPS keep-alive (nginx), certificates checked against its CA
  --new-connections        a new connection per request (wrk: Connection: close; oha:
                           --disable-keepalive; loadwright: --connection-policy none);
                           counts handshakes
  --no-resumption          full handshakes only (nginx without tickets or session cache;
                           loadwright --no-tls-resumption)
  --builds NAME=PATH,...   other builds of the host, measured in the same rounds as
                           `loadwright:NAME` (for example release=target/release/host)

`loadwright` is the host in LOADWRIGHT_HOST, else target/release/host; bench/run.sh measures
the profile-guided build (bench/pgo.sh).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

from artifacts import HELLO, HOST, OHA, ROOT, require_built

TOOLS = ("wrk", "oha", "loadwright")


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


def start(name):
    """The target called `name`, running on core 1."""
    if name == "nginx":
        sys.path.insert(0, str(ROOT / "bench"))
        from nginx import Nginx
        return Nginx(core=1)
    return DemoTarget()


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


def commands(args, target, connections):
    """The URL, and each tool's command line for the chosen mode."""
    kind = ("tls-full" if args.no_resumption else "tls") if args.tls else "plain"
    url = target.url(kind)
    c, d = str(connections), f"{args.duration}s"
    wrk = ["wrk", "-t1", "-c", c, "-d", d]
    oha = [str(OHA), "--no-tui", "-c", c, "-z", d]
    host = [str(HOST), "run", str(HELLO), "--host", url, "--vus", c, "--duration", d, "--quiet"]
    if args.new_connections:
        wrk += ["-H", "Connection: close"]
        oha += ["--disable-keepalive"]
        host += ["--connection-policy", "none"]
    if url.startswith("https://"):
        oha += ["--cacert", target.ca]
        host += ["--ca-cert", target.ca]
        if args.no_resumption:
            host += ["--no-tls-resumption"]
    argvs = {"wrk": wrk + [f"{url}/"], "oha": oha + [f"{url}/"], "loadwright": host}
    for name, path in args.builds.items():
        argvs[f"loadwright:{name}"] = [path, *host[1:]]
    return url, {tool: pinned(0, argv) for tool, argv in argvs.items()}


def tools(args):
    """The tools asked for that are here; says which are skipped and why."""
    chosen = [tool for tool in args.tools.split(",") if tool]
    for tool in chosen:
        if tool not in TOOLS:
            sys.exit(f"--tools: unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    if "oha" in chosen and not OHA.exists():
        print(f"oha skipped: {OHA} is missing (bench/run.sh installs it: "
              "cargo install oha --locked --root bench/.tools)", file=sys.stderr)
        chosen.remove("oha")
    return chosen + [f"loadwright:{name}" for name in args.builds]


def run_target(args, name, chosen):
    """Every round of every connection count against target `name`; the raw results."""
    target = start(name)
    runs = []
    try:
        for connections in args.connections:
            url, argvs = commands(args, target, connections)
            # A short warm-up so every tool meets a warm target.
            warm_up = [("2s" if arg == f"{args.duration}s" else arg) for arg in argvs["wrk"]]
            subprocess.run(warm_up, capture_output=True, timeout=60)
            results = []
            for _ in range(args.rounds):
                for tool in chosen:
                    results.append(measure(tool, argvs[tool], target, args.new_connections))
            runs.append({"target": name, "url": url, "connections": connections,
                         "results": results})
    finally:
        target.stop()
    return runs


def median(results, tool, key):
    values = [r[key] for r in results if r["tool"] == tool]
    return statistics.median(values) if values else float("nan")


def report(args, run, chosen):
    """Prints one target and connection count: each tool's median and the ratios."""
    what = "handshakes" if args.new_connections else "requests"
    mode = "new connection per request" if args.new_connections else "keep-alive GET loop"
    print(f"\n{mode} on {run['url']} ({run['target']}), {run['connections']} connections/VUs, "
          f"{args.duration}s per tool, median of {args.rounds} rounds, generator on core 0, "
          f"target on core 1")
    print(f"{'tool':<20} {what + '/s':>14} {what + '/cpu-s':>16}   per round ({what}/cpu-s)")
    results = run["results"]
    for tool in chosen:
        rounds = " ".join(f"{r['per_cpu_s']:.0f}" for r in results if r["tool"] == tool)
        print(f"{tool:<20} {median(results, tool, 'per_s'):>14.0f} "
              f"{median(results, tool, 'per_cpu_s'):>16.0f}   {rounds}")
    builds = [tool for tool in chosen if tool.startswith("loadwright")]
    for build in builds:
        mine = [r for r in results if r["tool"] == build]
        for other in (tool for tool in chosen if not tool.startswith("loadwright")):
            theirs = [r for r in results if r["tool"] == other]
            ratios = [m["per_cpu_s"] / t["per_cpu_s"] for m, t in zip(mine, theirs)]
            print(f"{build} / {other}: {statistics.median(ratios):.2f} of the {what} per "
                  f"CPU-second (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


def parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per tool and round")
    parser.add_argument("--connections", default="64,1000",
                        help="comma-separated connection counts (loadwright: VUs)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the tools")
    parser.add_argument("--targets", default="nginx,demo", help="nginx, demo, or both")
    parser.add_argument("--target", dest="targets", help=argparse.SUPPRESS)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--new-connections", action="store_true")
    parser.add_argument("--no-resumption", action="store_true")
    parser.add_argument("--builds", default="", help="NAME=PATH,... other builds of the host")
    args = parser.parse_args()
    try:
        args.builds = dict(b.split("=", 1) for b in args.builds.split(",") if b)
    except ValueError:
        sys.exit("--builds: expected NAME=PATH,... (for example release=target/release/host)")
    for path in args.builds.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"--builds: {path} is not an executable host build")
    args.connections = [int(c) for c in args.connections.split(",") if c]
    args.targets = [t for t in args.targets.split(",") if t]
    for name in args.targets:
        if name not in ("nginx", "demo"):
            sys.exit(f"--targets: unknown target {name!r} (nginx or demo)")
    if args.tls or args.no_resumption:
        # Only nginx speaks TLS here.
        args.tls = True
        args.targets = ["nginx"]
    return args


def main():
    args = parse()
    require_built()
    chosen = tools(args)
    print(f"loadwright is {HOST}", flush=True)
    runs = [run for name in args.targets for run in run_target(args, name, chosen)]
    for run in runs:
        report(args, run, chosen)
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"compare-{int(time.time())}.json").write_text(json.dumps(
        {"mode": vars(args), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
