"""The workloads a profile-guided build of the host learns from (bench/pgo.sh): `host run`
of the examples as the benchmarks run them, each a few seconds, so the profile weighs the
request path the way a load test does. Runs the host named on the command line (the
instrumented build), whose profile goes where its build said (-Cprofile-generate).

    python3 bench/pgo_train.py HOST
"""

import subprocess
import sys

from artifacts import HELLO, ROOT
from compare import pinned, start

SHOP = ROOT / "target/wasm/wasm32-wasip2/release/shop.wasm"
SECONDS = "4s"


def run(host, *args):
    """`host run` with `args`, pinned to core 0 as the benchmarks pin it; exits on failure."""
    argv = pinned(0, [host, "run", *args, "--duration", SECONDS, "--quiet"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"training run failed ({' '.join(args)}): {done.stderr[-2000:]}")
    print(f"  trained on: {' '.join(str(a) for a in args)}", flush=True)


def main():
    host = sys.argv[1]
    nginx = start("nginx")
    try:
        tls = ["--ca-cert", nginx.ca]
        for vus in ("64", "1000"):
            run(host, str(HELLO), "--host", nginx.url("plain"), "--vus", vus)
            run(host, str(HELLO), "--host", nginx.url("tls"), "--vus", vus, *tls)
        run(host, str(HELLO), "--host", nginx.url("tls"), "--vus", "64",
            "--connection-policy", "none", *tls)
        run(host, str(HELLO), "--host", nginx.url("tls-full"), "--vus", "64",
            "--connection-policy", "none", "--no-tls-resumption", *tls)
    finally:
        nginx.stop()
    run(host, str(SHOP), "--target-demo", "--vus", "64")


if __name__ == "__main__":
    main()
