"""Shared helpers: figures, timing, the bench database, raw psycopg access and machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

Figure = dict[str, Any]


def figure(
    case: int,
    name: str,
    *,
    measured: str,
    ratio: float | None,
    target: str,
    met: bool,
    raw: dict[str, Any] | None = None,
) -> Figure:
    """One row of the results: the raw numbers (``measured``), the ratio, the target, met."""
    return {
        "case": case,
        "name": name,
        "measured": measured,
        "ratio": None if ratio is None else round(ratio, 3),
        "target": target,
        "met": bool(met),
        "raw": raw or {},
    }


def log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", flush=True)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(
    fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> float:
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        samples.append(timed(fn))
    return statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


# --- database ------------------------------------------------------------------------------


def conninfo() -> str:
    from django.db import connection

    s = connection.settings_dict
    parts = {
        "dbname": s["NAME"],
        "user": s.get("USER") or "",
        "password": s.get("PASSWORD") or "",
        "host": s.get("HOST") or "",
        "port": str(s.get("PORT") or ""),
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def raw_connect(**kwargs: Any) -> Any:
    """A psycopg connection of its own (autocommit) to the bench database."""
    import psycopg

    return psycopg.connect(conninfo(), autocommit=True, **kwargs)


def ensure_database() -> None:
    """Create the bench database when it does not exist (connects to ``postgres`` for that)."""
    import psycopg
    from django.db import connection

    name = connection.settings_dict["NAME"]
    admin = conninfo().replace(f"dbname={name}", "dbname=postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def sql(statement: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def truncate(*models: Any) -> None:
    """Empty tables (and what references them), restarting their ids."""
    from django.db import connection

    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def analyze(*models: Any) -> None:
    for model in models:
        sql(f'ANALYZE "{model._meta.db_table}"')


def copy_rows(conn: Any, table: str, columns: list[str], lines: Iterable[str]) -> None:
    """COPY text-format lines (tab-separated, no escaping needed) into ``table``."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) >= 20000:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def flush_redis() -> None:
    """Empty the bench Redis database (cache, throttle counters, broker queues of the bench)."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


# --- machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def machine_info() -> dict[str, Any]:
    import redis
    from django.conf import settings

    pg = sql("SHOW server_version")[0][0]
    redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        wrk_version = (wrk.stdout or wrk.stderr).split("\n")[0].strip()
    except OSError:
        wrk_version = "absent"
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "postgresql": pg.split()[0],
        "redis": redis_version,
        "wrk": wrk_version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def vacuum_analyze(*models: Any) -> None:
    """After a bulk load: statistics and the visibility map, as autovacuum would leave them."""
    for model in models:
        sql(f'VACUUM ANALYZE "{model._meta.db_table}"')
