"""Slow clients cannot take the production web server down. The README's production layout
(gunicorn's sync workers on loopback behind ``deploy/nginx.conf``) is started as the README
says, on the test database with production settings; 100 slowloris connections (a partial
request, then one header byte every 1-2 s, re-opened when the server drops one) are held against
it for about 15 s while ``/healthz/`` and the platform's config read are probed every 0.5 s:
every probe must answer 200 within 1 s."""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.procs import ROOT, database_url, free_port, manage, redis_url, spawn, stop, wait_for

CONNECTIONS = 100
ATTACK_SECONDS = 15.0
PROBE_EVERY = 0.5
PROBE_BUDGET = 1.0
HOST = "control-plane.example"
CONFIG = "/api/v1/pilot/config/"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    assert found, "nginx is missing: run 'sudo apt-get install -y nginx' (make test installs it)"
    return found


def _production_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PYTEST"))
    }
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url(),
        # Behind the proxy, as the README's Production section sets them.
        USE_X_FORWARDED_PROTO="true",
        TRUSTED_PROXIES="127.0.0.1/32",
        # This run's own cache namespace: nothing cached by an earlier run is read back.
        CACHE_KEY_PREFIX=f"pcp-slow-{secrets.token_hex(4)}",
        PYTHONUNBUFFERED="1",
    )
    return env


def _nginx_prefix(prefix: Path, http_port: int, https_port: int, upstream_port: int) -> None:
    """deploy/nginx.conf as shipped, with only its ports and certificate paths moved to this
    test's (each replaced text must be in the file, so a reshaped config fails here)."""
    (prefix / "tls").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={HOST}",
            "-keyout",
            str(prefix / "tls" / "privkey.pem"),
            "-out",
            str(prefix / "tls" / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    text = NGINX_CONF.read_text()
    for old, new in {
        "listen 80 default_server": f"listen 127.0.0.1:{http_port} default_server",
        "listen 443 ssl default_server": f"listen 127.0.0.1:{https_port} ssl default_server",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "/etc/ssl/pcp/": f"{prefix}/tls/",
    }.items():
        assert old in text, f"deploy/nginx.conf no longer contains {old!r}"
        text = text.replace(old, new)
    (prefix / "nginx.conf").write_text(text)


@dataclass
class Attack:
    """``CONNECTIONS`` slowloris connections, half on each listener, kept at that number."""

    targets: list[tuple[int, bool]]  # (port, tls)
    stop: threading.Event = field(default_factory=threading.Event)
    opened: int = 0
    dropped: int = 0
    most_open: int = 0
    errors: list[str] = field(default_factory=list)

    def _open(self, port: int, tls: bool) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=HOST)
        # A request line and a first header, never finished.
        sock.sendall(f"GET /healthz/ HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode())
        self.opened += 1
        return sock

    def run(self) -> None:
        rng = random.Random(15)  # timing jitter only
        conns: list[tuple[socket.socket, int, bool, float]] = []
        try:
            for i in range(CONNECTIONS):
                port, tls = self.targets[i % len(self.targets)]
                conns.append(
                    (self._open(port, tls), port, tls, time.monotonic() + rng.uniform(1, 2))
                )
            while not self.stop.is_set():
                self.most_open = max(self.most_open, len(conns))
                now = time.monotonic()
                for index, (sock, port, tls, due) in enumerate(conns):
                    if due > now:
                        continue
                    try:
                        sock.sendall(b"a")  # one header byte
                    except OSError:
                        # The server cut this client off: a real attacker opens another one.
                        self.dropped += 1
                        sock.close()
                        sock = self._open(port, tls)
                    conns[index] = (sock, port, tls, now + rng.uniform(1, 2))
                self.stop.wait(0.05)
        except Exception as exc:  # reported by the test, which then fails
            self.errors.append(repr(exc))
        finally:
            for sock, *_ in conns:
                with contextlib.suppress(OSError):
                    sock.close()


def _probe(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    """One request on a new connection, as a fresh client: (status, seconds); 0 when none."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    started = time.monotonic()
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        connection.request("GET", path, headers={"Host": HOST, **headers})
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except OSError:
        return 0, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_100_slow_clients_leave_healthz_and_the_config_read_answering(tmp_path: Path) -> None:
    nginx = _nginx()
    tmp = tmp_path / "prod"
    tmp.mkdir()
    env = _production_env(tmp)
    # The README's production install (pytest-django ran migrate) and the platform's key.
    manage(env, "bootstrap_roles")
    created = manage(env, "create_api_key", "--name", "platform", "--role", "api-client")
    platform_key = created.strip().splitlines()[-1]
    gunicorn_port, http_port, https_port = free_port(), free_port(), free_port()
    # Started as root, nginx's workers run as nobody: they must reach their temporary files,
    # which pytest's private tmp_path would not let them.
    prefix = Path(tempfile.mkdtemp(prefix="pcp-nginx-"))
    prefix.chmod(0o755)
    _nginx_prefix(prefix, http_port, https_port, gunicorn_port)
    nginx_cmd = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    server: subprocess.Popen[Any] | None = None
    nginx_started = False
    try:
        # The README's production web command, on this test's port.
        server = spawn(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{gunicorn_port}",
                "--workers",
                "4",
            ],
            env,
            tmp / "gunicorn.log",
        )
        started = subprocess.run(nginx_cmd, capture_output=True, text=True, timeout=30)
        assert started.returncode == 0, started.stderr
        nginx_started = True
        wait_for(
            lambda: _probe(https_port, "/healthz/", {})[0] == 200,
            60,
            "gunicorn behind nginx: " + (tmp / "gunicorn.log").read_text()[-2000:],
        )
        auth = {"Authorization": f"Bearer {platform_key}"}
        assert _probe(https_port, CONFIG, auth)[0] == 200

        attack = Attack(targets=[(http_port, False), (https_port, True)])
        attacker = threading.Thread(target=attack.run, daemon=True)
        attacker.start()
        wait_for(lambda: attack.opened >= CONNECTIONS or attack.errors, 10, "100 slow clients")
        probes: list[tuple[str, int, float]] = []
        ends = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < ends:
            tick = time.monotonic()
            for path, headers in (("/healthz/", {}), (CONFIG, auth)):
                status, seconds = _probe(https_port, path, headers)
                probes.append((path, status, seconds))
            time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - tick)))
        attack.stop.set()
        attacker.join(timeout=15)
    finally:
        if nginx_started:
            subprocess.run([*nginx_cmd, "-s", "stop"], capture_output=True, timeout=30)
            # nginx removes its pid file once its master process has exited.
            wait_for(lambda: not (prefix / "nginx.pid").exists(), 15, "nginx to stop")
        stop(server)
        shutil.rmtree(prefix, ignore_errors=True)

    slow = [p for p in probes if p[1] != 200 or p[2] > PROBE_BUDGET]
    max_ms = max(p[2] for p in probes) * 1000
    print(
        f"RELIABILITY slow_clients connections={CONNECTIONS} probes={len(probes)} "
        f"max_ms={max_ms:.0f} over_1s={len(slow)} "
        f"not_200={sum(1 for p in probes if p[1] != 200)} "
        f"slow_opened={attack.opened} slow_cut_off={attack.dropped}"
    )
    assert attack.errors == []
    assert attack.most_open == CONNECTIONS
    assert slow == [], f"{len(slow)} of {len(probes)} probes failed or took over 1 s: {slow[:5]}"
    # Two probes every half second for the whole attack (a probe that hung would thin them out).
    assert len(probes) >= 2 * int(ATTACK_SECONDS / PROBE_EVERY) - 2
