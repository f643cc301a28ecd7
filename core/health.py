"""What ``/healthz/`` checks. Each check answers "ok" or a short reason; none raises."""

import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection

Check = Callable[[], str]


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def check_cache() -> str:
    probe = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok" if ok else "error: cache did not keep a value"


def check_broker() -> str:
    url: str = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return "ok" if folder.is_dir() else "error: broker folder missing (start the worker)"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


# Other apps append their own (the SLA sweep's heartbeat, for example).
CHECKS: dict[str, Check] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks() -> tuple[str, dict[str, str], bool]:
    """(overall status, each check's result, whether the database answers)."""
    results = {name: check() for name, check in CHECKS.items()}
    db_ok = results["database"] == "ok"
    status = "ok" if all(v == "ok" for v in results.values()) else "degraded"
    return status, results, db_ok
