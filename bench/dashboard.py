#!/usr/bin/env python3
"""What open dashboards cost a run: the release `host serve` (core 0) runs `hello` against
`host target` (core 1) for a fixed time, with 0, 1 and 10 dashboards' streams open
(`/v1/runs/{id}/stream?snapshots=true`, what the run page reads), alternated round by round.
Prints the run's requests per CPU-second of the server and the server's CPU time per
second of run for each, and the ratios to the run without dashboards.

With `--rate R` the run is an open model of R iterations per second instead of a closed
loop as fast as it goes: the server then has idle CPU, and "extra cpu/s" is what the streams
cost it, as a share of one core.

Usage: bench/dashboard.py [--vus 50] [--rate R] [--seconds 8] [--rounds 3] [--streams 0,1,10]
"""

import argparse
import http.client
import json
import os
import statistics
import threading
import time
from pathlib import Path

from api_latency import request, serving
from artifacts import require_built

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User plus system CPU of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def follow(api, run, counts, index):
    """Reads run `run`'s stream to its end, as a dashboard does; counts its events."""
    conn = http.client.HTTPConnection(api.removeprefix("http://"), timeout=120)
    conn.request("GET", f"/v1/runs/{run}/stream?snapshots=true",
                 headers={"Authorization": "Bearer bench-token"})
    response = conn.getresponse()
    for line in response:
        if line.startswith(b"event:"):
            counts[index] += 1
            if line.strip() == b"event: end":
                break
    conn.close()


def one_run(served, args, streams):
    """One run with `streams` dashboards open: its requests per CPU-second of the server, the
    server's CPU per second of run, and the events the dashboards read."""
    conn = served.conn
    body = {"scenario": served.scenario, "base_url": served.target_url}
    if args.rate:
        body["plan"] = {"scenarios": {"default": {
            "executor": "constant-arrival-rate", "rate": args.rate, "timeUnit": "1s",
            "duration": f"{args.seconds}s", "preAllocatedVUs": args.vus}}}
    else:
        body.update({"vus": args.vus, "duration": f"{args.seconds}s"})
    run = request(conn, "POST", "/v1/runs", json.dumps(body))["id"]
    counts = [0] * streams
    readers = [threading.Thread(target=follow, args=(served.api, run, counts, i))
               for i in range(streams)]
    for reader in readers:
        reader.start()
    before = cpu_seconds(served.server.pid)
    while request(conn, "GET", f"/v1/runs/{run}")["state"] in ("starting", "running", "stopping"):
        time.sleep(0.2)
    cpu = cpu_seconds(served.server.pid) - before
    for reader in readers:
        reader.join(timeout=30)
    summary = request(conn, "GET", f"/v1/runs/{run}/report")
    requests = summary["metrics"]["http_reqs"]["values"]["count"]
    return {"per_cpu_s": requests / cpu, "cpu_per_s": cpu / summary["elapsed"],
            "events": sum(counts)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--rate", type=int, default=0, help="iterations per second (open model)")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", default="0,1,10")
    args = parser.parse_args()
    counts = [int(n) for n in args.streams.split(",")]
    require_built()
    results = {n: [] for n in counts}
    with serving() as served:
        for _ in range(args.rounds):
            for n in counts:
                results[n].append(one_run(served, args, n))
    base = statistics.median(r["per_cpu_s"] for r in results[counts[0]])
    base_cpu = statistics.median(r["cpu_per_s"] for r in results[counts[0]])
    load = f"{args.rate} iterations/s" if args.rate else f"{args.vus} VUs as fast as they go"
    print(f"hello, {load}, {args.seconds} s per run, median of {args.rounds} alternated rounds; "
          "server on core 0, target on core 1")
    print(f"{'dashboards':>10} {'requests/cpu-s':>15} {'ratio':>6} {'server cpu/s':>13} "
          f"{'extra cpu/s':>12} {'events read':>12}")
    for n in counts:
        per = statistics.median(r["per_cpu_s"] for r in results[n])
        cpu = statistics.median(r["cpu_per_s"] for r in results[n])
        events = statistics.median(r["events"] for r in results[n])
        print(f"{n:>10} {per:>15,.0f} {per / base:>6.3f} {cpu:>13.3f} {cpu - base_cpu:>+12.4f} "
              f"{events:>12,.0f}")


if __name__ == "__main__":
    main()
