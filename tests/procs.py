"""Real processes for the tests that need them: private Redis and PostgreSQL, gunicorn, Celery
workers and beat (on the test database or a private one), and HTTP helpers. Every process is
stopped in ``finally`` (never the machine's shared PostgreSQL or Redis)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def stop(
    process: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, timeout: float = 10
) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    """A process in its own process group (so it and its children can be signalled)."""
    handle = log.open("ab")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


# --- Redis ---------------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def start(self) -> None:
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            dict(os.environ),
            self.workdir / "redis.log",
        )
        wait_for(self.ping, 10, "private redis")

    def stop(self) -> None:
        stop(self.process, signal.SIGKILL)
        self.process = None


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(workdir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away cluster (initdb) run as the postgres user on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pcp-rel-pg-"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/pcp"

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "pcp")

    def _ctl(self, action: str) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "-m",
            "fast",
            action,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.init()
        yield pg
    finally:
        pg.destroy()


# --- the project's processes ----------------------------------------------------------------


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    from django.db import connection

    db = connection.settings_dict
    auth = (db["USER"] or "postgres") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def redis_url() -> str:
    from django.conf import settings

    return str(settings.REDIS_URL)


def project_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a project process. It keeps this test process's cache namespace
    (``PYTEST_XDIST_WORKER``, see config/settings/test.py) and drops pytest's other variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PYTEST_XDIST_WORKER=os.environ.get("PYTEST_XDIST_WORKER", "main"),
        DJANGO_ENV="test",
        DJANGO_SETTINGS_MODULE=extra.pop("DJANGO_SETTINGS_MODULE", "config.settings.test"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
        CONN_MAX_AGE="60",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def django_eval(env: dict[str, str], code: str, timeout: float = 120) -> Any:
    """Run ``code`` (which sets ``result``) with Django set up in a fresh process; its JSON."""
    script = (
        "import django, json\ndjango.setup()\nresult = None\n"
        + code
        + "\nprint('RESULT:' + json.dumps(result, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT:"))
    return json.loads(line[len("RESULT:") :])


class Gunicorn:
    def __init__(self, env: dict[str, str], log: Path, workers: int = 4) -> None:
        self.port = free_port()
        self.process = spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            env,
            log,
        )
        wait_for(lambda: http("GET", self.url("/healthz/"))[0] == 200, 30, "gunicorn")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop(self.process)


def celery(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[Any]:
    return spawn([sys.executable, "-m", "celery", "-A", "config", *args], env, log)


def worker(
    env: dict[str, str],
    log: Path,
    queues: str,
    name: str,
    concurrency: int = 2,
    pool: str = "prefork",
) -> subprocess.Popen[Any]:
    return celery(
        env,
        log,
        "worker",
        "-Q",
        queues,
        "-n",
        f"{name}@%h",
        "-c",
        str(concurrency),
        "--pool",
        pool,
        "--without-mingle",
        "--without-gossip",
        "-l",
        "INFO",
    )


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 15,
) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - 127.0.0.1
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
