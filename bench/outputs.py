#!/usr/bin/env python3
"""What the observability outputs cost the load: the same plan (hello, VUs, duration) run by
`host run` without outputs, pushing to a real Prometheus (remote write), to an OTLP receiver
that is down (a closed port), and to one that is slow (answers after a minute), alternated
round by round against nginx. The figure: each run's request rate (its summary's
`http_reqs` rate) over the rate of the run without outputs in the same round. The target of
issue 17: within 5 % for a receiver that is down or slow.

The generator runs alone on core 0; nginx, Prometheus and the slow receiver on core 1.
Prometheus comes from Debian's package (scripts/setup.sh --observability).

  --vus 64 --duration 5 --rounds 5
"""

import argparse
import json
import shutil
import socket
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

SLOW_RECEIVER = """
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        time.sleep(60)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer in {seconds} s")


class Receivers:
    """Prometheus with its remote-write receiver, and the slow OTLP receiver, on core 1."""

    def __init__(self, directory):
        if not shutil.which("prometheus"):
            sys.exit("prometheus is missing: run scripts/setup.sh --observability")
        config = Path(directory) / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\n")
        port = free_port()
        self.prometheus = subprocess.Popen(
            pinned(1, ["prometheus", f"--config.file={config}",
                       f"--storage.tsdb.path={Path(directory) / 'data'}",
                       f"--web.listen-address=127.0.0.1:{port}",
                       "--web.enable-remote-write-receiver",
                       "--enable-feature=native-histograms"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(f"http://127.0.0.1:{port}/-/ready")
        self.write_url = f"http://127.0.0.1:{port}/api/v1/write"
        self.slow = subprocess.Popen(pinned(1, [sys.executable, "-c", SLOW_RECEIVER]),
                                     stdout=subprocess.PIPE, text=True)
        self.slow_url = f"http://127.0.0.1:{self.slow.stdout.readline().strip()}/v1/metrics"
        self.down_url = f"http://127.0.0.1:{free_port()}/v1/metrics"

    def stop(self):
        for process in (self.prometheus, self.slow):
            process.terminate()
            process.wait()


def run(base, outputs, summary):
    """Runs `host run` (`base`) with `outputs`; its summary's request rate and how the
    outputs fared."""
    argv = [*base, f"--out=json={summary}", *(f"--out={o}" for o in outputs)]
    done = subprocess.run(pinned(0, argv), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"host run failed ({done.returncode}): {done.stderr}")
    rate = json.loads(Path(summary).read_text())["metrics"]["http_reqs"]["values"]["rate"]
    fared = [line for line in done.stderr.splitlines() if "batches sent" in line]
    return rate, fared


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    require_built()
    target = Nginx(core=1)
    directory = tempfile.mkdtemp(prefix="loadwright-outputs-")
    receivers = Receivers(directory)
    summary = Path(directory) / "summary.json"
    modes = {
        "none": [],
        "prometheus-rw": [f"prometheus-rw={receivers.write_url}"],
        "otlp down": [f"otlp={receivers.down_url}"],
        "otlp slow": [f"otlp={receivers.slow_url}"],
    }
    rates = {mode: [] for mode in modes}
    fared = {}
    try:
        base = [str(HOST), "run", str(HELLO), "--host", target.url("plain"), "--vus",
                str(args.vus), "--duration", f"{args.duration}s", "--quiet"]
        run(base, [], summary)  # warm-up: the compiled component is cached for every mode
        for _ in range(args.rounds):
            for mode, outputs in modes.items():
                rate, lines = run(base, outputs, summary)
                rates[mode].append(rate)
                fared.setdefault(mode, lines)
    finally:
        receivers.stop()
        target.stop()
    print(f"hello against nginx, {args.vus} VUs, {args.duration}s per run, generator on core 0, "
          f"nginx and the receivers on core 1, {args.rounds} alternated rounds")
    for mode in modes:
        ratios = [r / n for r, n in zip(rates[mode], rates["none"])]
        print(f"{mode:<14} median {statistics.median(rates[mode]):>9.0f} req/s  "
              f"ratio to none {statistics.median(ratios):.3f} "
              f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})")
        for line in fared.get(mode, []):
            print(f"{'':<14} first round: {line}")
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / f"outputs-{int(time.time())}.json").write_text(json.dumps(
        {"mode": vars(args), "rates": rates}, indent=2))


if __name__ == "__main__":
    main()
