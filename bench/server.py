"""gunicorn on a free loopback port, and wrk against it (installed when missing)."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import log

ROOT = Path(__file__).resolve().parent.parent
# The production command of the README: sync workers, 4 of them. gthread workers (2 x 4 threads)
# gave bimodal figures here: the 32 keep-alive connections of a wrk run are accepted by whichever
# worker wakes first, and a run in which one worker held most of them served half as much, for
# the baseline and the config read alike. A sync worker accepts a connection only when it is
# free, so the load stays spread. Overridable for experiments.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
THREADS = os.environ.get("BENCH_THREADS", "1")
WORKERS = os.environ.get("BENCH_WORKERS", "4")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """``with Gunicorn() as server:`` — the project's WSGI app under bench settings."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            WORKERS,
            "--worker-class",
            WORKER_CLASS,
            "--threads",
            THREADS,
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "DJANGO_ENV": "bench"}
        log(f"gunicorn: {' '.join(cmd[3:])}")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = request(self.port, "GET", "/bench/baseline/")
                if status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited during startup")
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


# --- wrk ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("wrk is missing: running `apt-get install -y wrk`")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk could not be installed (apt-get install -y wrk)")
    return path


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """req/s, latency percentiles, requests, and errors (socket errors + non-2xx/3xx)."""
    result: dict[str, Any] = {"socket_errors": 0, "non_2xx_3xx": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", output):
        result["requests"] = int(m.group(1))
        result["duration_s"] = _seconds(m.group(2))
    for pct in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", output, re.MULTILINE):
            result[f"p{pct}_s"] = _seconds(m.group(1))
    if m := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result["socket_errors"] = sum(int(g) for g in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx_3xx"] = int(m.group(1))
    result["errors"] = result["socket_errors"] + result["non_2xx_3xx"]
    if "rps" not in result or "p99_s" not in result:
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    return result


def run_wrk(
    url: str,
    headers: dict[str, str],
    *,
    duration: int,
    connections: int = 32,
    post: bytes | None = None,
) -> dict:
    """wrk against ``url`` (GET; a POST of the JSON body ``post`` when given)."""
    cmd = [ensure_wrk(), "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if post is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            # A Lua long string holds the JSON body as it is (no escaping needed).
            script.write(f'wrk.method = "POST"\nwrk.body = [==[{post.decode()}]==]\n')
        cmd += ["-s", script.name]
        headers = {**headers, "Content-Type": "application/json"}
    shown = list(cmd)
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
        shown += ["-H", f"'{name}: {'<key>' if name == 'Authorization' else value}'"]
    cmd.append(url)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        if post is not None:
            os.unlink(script.name)
    result = parse_wrk(done.stdout)
    result["command"] = " ".join([*shown[1:], url]).replace(str(cmd[0]), "wrk")
    return result
