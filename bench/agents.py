#!/usr/bin/env python3
"""What running as an agent of a coordinator costs: the same plan (hello, VUs, duration)
run by `host run` on its own and by one `host agent` for a `host serve` on loopback,
alternated round by round against nginx; requests per CPU-second of the generator.

The generator (`host run`, or the agent) runs alone on core 0; nginx and the coordinator
on core 1. Counts come from nginx's stub_status; CPU time from the generator's rusage
(user + system), the agent's whole life included (its poll, fetching and loading the
scenario, handing in every interval, its end). The target of issue 16: under 5 % fewer
requests per CPU-second as an agent.

  --vus 64 --duration 5 --rounds 5
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from artifacts import HELLO, HOST, ROOT, require_built
from compare import pinned

sys.path.insert(0, str(ROOT / "bench"))
from nginx import Nginx  # noqa: E402

TENANT_TOKEN = "bench-tenant"
AGENT_TOKEN = "bench-agent"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Coordinator:
    """`host serve` on core 1, with a tenant that may reach loopback and an agent token."""

    def __init__(self, directory):
        config = Path(directory) / "server.toml"
        config.write_text(
            f'agent-token-sha256 = ["{sha256(AGENT_TOKEN)}"]\n\n[[tenant]]\nname = "bench"\n'
            f'token-sha256 = ["{sha256(TENANT_TOKEN)}"]\n'
            'egress = { allow = ["127.0.0.0/8"] }\n'
            "quotas = { vus-per-run = 100000, vus-total = 100000 }\n")
        self.process = subprocess.Popen(
            pinned(1, [str(HOST), "serve", "--listen", "127.0.0.1:0", "--config", str(config),
                       "--data-dir", str(Path(directory) / "data")]),
            stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        self.url = line.rsplit(" ", 1)[-1]
        if not self.url.startswith("http://"):
            sys.exit(f"unexpected server output: {line!r}")

    def call(self, method, path, body=None, token=TENANT_TOKEN, content_type="application/json"):
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def upload(self, path):
        return self.call("POST", "/v1/scenarios", Path(path).read_bytes(),
                         content_type="application/wasm")["id"]

    def stop(self):
        self.process.terminate()
        self.process.wait()


def measure(name, start, target):
    """Starts the generator with `start()` (a Popen), waits for its end; the counts."""
    _, requests_before = target.status()
    started = time.monotonic()
    process = start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name} failed (exit {os.waitstatus_to_exitcode(status)})")
    _, requests = target.status()
    count = requests - requests_before - 1
    cpu = usage.ru_utime + usage.ru_stime
    return {"tool": name, "count": count, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "per_cpu_s": count / cpu}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    require_built()
    target = Nginx(core=1)
    directory = tempfile.mkdtemp(prefix="loadwright-agents-")
    coordinator = Coordinator(directory)
    results = []
    try:
        url = target.url("plain")
        scenario = coordinator.upload(HELLO)
        local = [str(HOST), "run", str(HELLO), "--host", url, "--vus", str(args.vus),
                 "--duration", f"{args.duration}s", "--quiet"]
        agent = [str(HOST), "agent", "--coordinator", coordinator.url, "--token", AGENT_TOKEN,
                 "--name", "bench", "--once"]
        run = json.dumps({"scenario": scenario, "base_url": url, "agents": 1,
                          "vus": args.vus, "duration": f"{args.duration}s"}).encode()

        def as_agent():
            process = subprocess.Popen(pinned(0, agent), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            coordinator.call("POST", "/v1/runs", run)
            return process

        def alone():
            return subprocess.Popen(pinned(0, local), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)

        # Warm up: the compiled component is cached for both.
        measure("warm-up", alone, target)
        for _ in range(args.rounds):
            results.append(measure("host run", alone, target))
            results.append(measure("host agent", as_agent, target))
    finally:
        coordinator.stop()
        target.stop()
    print(f"hello against nginx, {args.vus} VUs, {args.duration}s per run, generator on core 0, "
          f"nginx and the coordinator on core 1, {args.rounds} alternated rounds")
    print(f"{'generator':<12} {'requests':>10} {'cpu-s':>8} {'requests/cpu-s':>16}")
    for result in results:
        print(f"{result['tool']:<12} {result['count']:>10} {result['cpu_s']:>8.2f} "
              f"{result['per_cpu_s']:>16.0f}")
    alone_runs = [r for r in results if r["tool"] == "host run"]
    agent_runs = [r for r in results if r["tool"] == "host agent"]
    ratios = [a["per_cpu_s"] / b["per_cpu_s"] for a, b in zip(agent_runs, alone_runs)]
    print(f"agent / host run: {statistics.median(ratios):.3f} of the requests per CPU-second "
          f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"agents-{int(time.time())}.json").write_text(json.dumps(
        {"mode": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
