#!/usr/bin/env python3
"""Latency of `GET /v1/runs/{id}/stats` while a run generates load.

Starts the release `host serve` pinned to core 0 and `host target` pinned to core 1, uploads
`hello`, starts a closed-model run as fast as it goes (its load fills core 0, where the API
also lives), and times QUERIES sequential stats requests on a kept-alive connection; then the
same with the run stopped, for comparison. Prints p50, p90, p99 and max in milliseconds.

Usage: bench/api_latency.py [--vus 50] [--queries 1000]
"""

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import subprocess
import tempfile
import time
import types
from pathlib import Path

from artifacts import HELLO, HOST, require_built


def start(argv, cpu):
    process = subprocess.Popen(["taskset", "-c", str(cpu), str(HOST), *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://")).rstrip("/")
    return process, url


def request(conn, method, path, body=None, content_type="application/json"):
    headers = {"Authorization": "Bearer bench-token", "Content-Type": content_type}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise SystemExit(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data) if data else None


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def measure(conn, path, queries):
    times = []
    for _ in range(queries):
        began = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer bench-token"})
        conn.getresponse().read()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {q: percentile(times, p) for q, p in
            [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)]}


@contextlib.contextmanager
def serving():
    """The release `host serve` on core 0 with a tenant `bench` (token `bench-token`) that
    has uploaded `hello`, and `host target` on core 1. Yields `conn` (kept alive to the
    API), `api` (its URL), `server` (the process), `scenario` (hello's id) and `target_url`.
    Both processes are stopped on leaving."""
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "server.toml"
        digest = hashlib.sha256(b"bench-token").hexdigest()
        config.write_text(f'[[tenant]]\nname = "bench"\ntoken-sha256 = ["{digest}"]\n'
                          'egress = { allow = ["127.0.0.0/8"] }\n'
                          'quotas = { vus-per-run = 10000, vus-total = 10000 }\n')
        target, target_url = start(["target", "--listen", "127.0.0.1:0"], 1)
        server, api = start(["serve", "--listen", "127.0.0.1:0", "--data-dir",
                             str(Path(work) / "data"), "--config", str(config)], 0)
        try:
            conn = http.client.HTTPConnection(api.removeprefix("http://"), timeout=60)
            scenario = request(conn, "POST", "/v1/scenarios", HELLO.read_bytes(),
                               "application/wasm")["id"]
            yield types.SimpleNamespace(conn=conn, api=api, server=server, scenario=scenario,
                                        target_url=target_url)
        finally:
            server.terminate()
            target.terminate()
            server.wait()
            target.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    require_built()
    with serving() as served:
        conn, scenario, target_url = served.conn, served.scenario, served.target_url
        run = request(conn, "POST", "/v1/runs", json.dumps({
            "scenario": scenario, "vus": args.vus, "duration": "10m",
            "base_url": target_url}))["id"]
        time.sleep(2)
        stats = f"/v1/runs/{run}/stats"
        loaded = measure(conn, stats, args.queries)
        snapshot = request(conn, "GET", stats)
        rps = snapshot["total"]["current_rps"]
        request(conn, "POST", f"/v1/runs/{run}/stop", b"{}")
        time.sleep(1)
        idle = measure(conn, stats, args.queries)
    print(f"GET /v1/runs/{{id}}/stats, {args.queries} sequential requests, ms")
    print(f"{'':>26} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for name, r in [(f"under load ({rps:,.0f} req/s)", loaded), ("run stopped", idle)]:
        print(f"{name:>26} {r['p50']:>7.2f} {r['p90']:>7.2f} {r['p99']:>7.2f} {r['max']:>7.2f}")


if __name__ == "__main__":
    main()
