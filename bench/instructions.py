"""Instructions and cache misses per request of `host run hello.wasm`, counted by valgrind's
cachegrind instead of timed: a count does not drift with the VM's load, so two builds can be
compared to a few percent where timings differ by a third between rounds.

The host runs against nginx (bench/nginx.py) under cachegrind twice, for a short and a long
duration; the difference between the two runs, divided by the difference in requests nginx
counted, is the cost of a request in steady state (start-up, loading and compiling cancel
out). cachegrind simulates this machine's caches (first level and last level): D1 misses are
the data accesses that left the first-level cache, the per-VU working set at work. Work done
once per stats interval (merging histograms) is spread over the requests of an interval at
valgrind's pace, about 50 times fewer than in a real run, so it weighs more here: compare
builds with this script, not with a timed run.

    python3 bench/instructions.py [--vus 64] [--tls] [--top 25] [--l2-kib 1024]

Prints instructions, first-level instruction and data misses, and data misses of the last
level per request, then the functions that cost the most. cachegrind simulates two levels;
`--l2-kib 1024` makes the second one this VM's 1 MiB L2 instead of its 32 MiB L3, so its
misses are the accesses a VU's cold state costs. Needs valgrind (bench/run.sh installs it). Runs take about a minute: the
host is about 50 times slower under valgrind.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from artifacts import HELLO, HOST, require_built
from nginx import Nginx

# Seconds of the two runs; their difference is what is counted.
SHORT, LONG = 3, 13


def cachegrind(nginx, kind, vus, seconds, out, last_level):
    """Runs the host under cachegrind into `out`; returns the requests nginx counted.
    `last_level` is the simulated last-level cache (`--LL`), or None for this machine's."""
    url = nginx.url(kind)
    extra = ["--ca-cert", nginx.ca] if kind != "plain" else []
    sim = [f"--LL={last_level},16,64"] if last_level else []
    before = nginx.status()[1]
    subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=yes", *sim, f"--cachegrind-out-file={out}",
         str(HOST), "run", str(HELLO), "--host", url, "--vus", str(vus),
         "--duration", f"{seconds}s", "--quiet", *extra],
        check=True, capture_output=True)
    return nginx.status()[1] - before


def summary(path):
    """The events and their totals of a cachegrind file."""
    events, totals = [], []
    for line in Path(path).read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            totals = [int(x) for x in line.split()[1:]]
    return dict(zip(events, totals))


def top(path, requests, count):
    """The `count` functions with the most instructions, per request."""
    out = subprocess.run(
        ["cg_annotate", "--show=Ir,D1mr,D1mw", "--threshold=0.1", path],
        check=True, capture_output=True, text=True).stdout
    pattern = re.compile(r"\s*([\d,-]+) \(\s*[-\d.]+%\)\s+([\d,-]+) \(\s*[-\d.]+%\)\s+"
                         r"([\d,-]+) \(\s*[-\d.]+%\)\s+(.*)")
    rows = []
    for line in out.splitlines():
        match = pattern.match(line)
        if not match or "PROGRAM TOTALS" in line:
            continue
        numbers = [int(match.group(i).replace(",", "")) for i in (1, 2, 3)]
        name = match.group(4).split(":", 1)[-1]
        rows.append((numbers[0] / requests, (numbers[1] + numbers[2]) / requests, name))
    return rows[:count]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--tls", action="store_true", help="HTTPS keep-alive")
    parser.add_argument("--top", type=int, default=25, help="functions to list")
    parser.add_argument("--l2-kib", type=int, default=0,
                        help="simulate a second-level cache of this size as the last level "
                             "(this VM's is 1024 KiB), to count the misses that leave it")
    args = parser.parse_args()
    require_built()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is missing: bench/run.sh installs it (apt-get install valgrind)")
    kind = "tls" if args.tls else "plain"
    nginx = Nginx(1)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # One run first, so that the component is compiled and cached before counting.
            last_level = args.l2_kib * 1024 or None
            cachegrind(nginx, kind, args.vus, 1, f"{tmp}/warm.out", last_level)
            short = cachegrind(nginx, kind, args.vus, SHORT, f"{tmp}/short.out", last_level)
            long = cachegrind(nginx, kind, args.vus, LONG, f"{tmp}/long.out", last_level)
        finally:
            nginx.stop()
        requests = long - short
        if requests <= 0:
            sys.exit(f"no more requests in the long run ({long}) than in the short ({short})")
        diff = f"{tmp}/diff.out"
        with open(diff, "w") as out:
            subprocess.run(["cg_diff", f"{tmp}/short.out", f"{tmp}/long.out"], check=True,
                           stdout=out)
        d = {k: v - summary(f"{tmp}/short.out").get(k, 0)
             for k, v in summary(f"{tmp}/long.out").items()}
        print(f"hello against nginx ({kind}), {args.vus} VUs: {requests} requests counted "
              f"({LONG} s run minus {SHORT} s run, under cachegrind)")
        print(f"  instructions per request:        {d['Ir'] / requests:9.0f}")
        print(f"  I1 misses per request:           {d['I1mr'] / requests:9.0f}")
        print(f"  D1 misses per request:           {(d['D1mr'] + d['D1mw']) / requests:9.0f}"
              f"   (reads {d['D1mr'] / requests:.0f}, writes {d['D1mw'] / requests:.0f})")
        level = "L2 data misses per request:" if args.l2_kib else "LL data misses per request:"
        print(f"  {level:<33}{(d['DLmr'] + d['DLmw']) / requests:9.0f}")
        print(f"  data reads and writes per request: {(d['Dr'] + d['Dw']) / requests:7.0f}")
        print(f"\n  {'instr/req':>9} {'D1 miss/req':>11}  function (the JIT code of the "
              "component shows as ???)")
        for ir, misses, name in top(diff, requests, args.top):
            print(f"  {ir:9.0f} {misses:11.1f}  {name[:110]}")


if __name__ == "__main__":
    main()
