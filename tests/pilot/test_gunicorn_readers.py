"""Two gunicorn workers, Redis and PostgreSQL: once the disable call has returned, no read that
starts afterwards gets the old config, whichever worker serves it."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.roles import Role
from core.services import api_key_create
from pilot.services import pilot_seed_demo

READERS = 4
MIN_READS = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url,
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_reader_sees_the_old_config_after_disable_returned(make_member, tmp_path: Path):
    pilot_seed_demo()
    platform_key = api_key_create(name="platform", user=make_member(Role.API_CLIENT)).raw
    operator_key = api_key_create(name="operator", user=make_member(Role.OPERATOR)).raw

    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CONN_MAX_AGE": "0",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1/pilot"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _call(f"{base}/config/", platform_key)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)

        reads: list[tuple[float, float, bool, int]] = []  # started, ended, enabled, revision
        lock = threading.Lock()
        stop = threading.Event()
        errors: list[BaseException] = []

        def reader() -> None:
            try:
                while not stop.is_set():
                    started = time.monotonic()
                    status, body = _call(f"{base}/config/", platform_key)
                    ended = time.monotonic()
                    assert status == 200
                    with lock:
                        reads.append((started, ended, body["enabled"], body["revision"]))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(READERS)]
        for t in threads:
            t.start()
        while len(reads) < MIN_READS // 2 and not errors:
            time.sleep(0.01)
        posted_at = time.monotonic()
        status, revision = _call(f"{base}/disable/", operator_key, {"reason": "SEV0 drill"})
        returned_at = time.monotonic()
        assert status == 200
        assert revision["enabled"] is False
        while len([r for r in reads if r[0] > returned_at]) < MIN_READS // 2 and not errors:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()

    before = [r for r in reads if r[1] < posted_at]  # ended before the disable was sent
    after = [r for r in reads if r[0] > returned_at]
    assert len(reads) >= MIN_READS
    assert before
    assert all(enabled for _s, _e, enabled, _n in before)
    stale = [r for r in after if r[2] or r[3] != revision["number"]]
    assert len(after) >= MIN_READS // 2
    assert stale == [], f"{len(stale)} reads after the disable returned saw the old config"
