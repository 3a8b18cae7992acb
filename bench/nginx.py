"""nginx (Debian's package) as a benchmark target on loopback: one worker pinned to a core,
plain HTTP, HTTPS with session resumption, and HTTPS without it, with requests and accepted
connections counted by its stub_status page.

The certificates are made here with the openssl command line: a CA, and a leaf for
127.0.0.1 and localhost signed by it (ECDSA P-256, as most sites use now).
"""

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CONFIG = """
worker_processes 1;
worker_cpu_affinity {affinity};
daemon off;
master_process on;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    ssl_certificate {dir}/server.pem;
    ssl_certificate_key {dir}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
        listen 127.0.0.1:{plain};
        location / {{ return 200 "hello\\n"; }}
        location = /nginx_status {{ stub_status; }}
    }}
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_session_cache shared:SSL:10m;
        ssl_session_tickets on;
        location / {{ return 200 "hello\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{tls_full} ssl;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {{ return 200 "hello\\n"; }}
    }}
}}
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory):
    """A CA (ca.pem) and a server certificate (server.pem, server.key) signed by it."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
             "-subj", "/CN=Loadwright bench CA", cwd=directory)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)
    (Path(directory) / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "7", "-extfile", "san.ext",
             cwd=directory)


class Nginx:
    """A running nginx with a plain, a TLS and a TLS-without-resumption port."""

    def __init__(self, core):
        if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
            raise SystemExit("nginx is missing: bench/run.sh installs it (apt-get install nginx-light)")
        self.dir = Path(tempfile.mkdtemp(prefix="loadwright-nginx-"))
        make_certificates(self.dir)
        self.plain, self.tls, self.tls_full = _free_port(), _free_port(), _free_port()
        # nginx's CPU mask: the rightmost digit is core 0.
        affinity = "1" + "0" * core
        (self.dir / "nginx.conf").write_text(CONFIG.format(
            dir=self.dir, plain=self.plain, tls=self.tls, tls_full=self.tls_full,
            affinity=affinity))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.status()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"nginx did not start: {(self.dir / 'error.log').read_text()}")
                time.sleep(0.05)

    @property
    def ca(self):
        return str(self.dir / "ca.pem")

    def url(self, kind):
        """The URL of the `plain`, `tls` or `tls-full` (no resumption) server."""
        return {
            "plain": f"http://127.0.0.1:{self.plain}",
            "tls": f"https://127.0.0.1:{self.tls}",
            "tls-full": f"https://127.0.0.1:{self.tls_full}",
        }[kind]

    def status(self):
        """(accepted connections, requests) so far, from stub_status (which counts itself)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.plain}/nginx_status", timeout=5) as r:
            lines = r.read().decode().splitlines()
        accepts, _handled, requests = (int(n) for n in lines[2].split())
        return accepts, requests

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
