"""The cached copy of the current config (Redis in production; PostgreSQL is the truth).

* Writers refresh the entry after their transaction commits, under the pilot lock, from the
  database head (``services.config.pilot_config_cache_refresh``), before the change call
  returns. Refreshes are therefore applied in revision order: the last one always stores the
  newest committed revision, whatever order the writers' ``on_commit`` hooks run in.
* Writers also drop the entry inside their transaction, so a reader that misses re-reads the
  database.
* Readers that miss fill the entry with ``add`` (only when absent): a reader that read an older
  revision before a writer committed cannot overwrite the writer's newer entry.
* Every cache error is swallowed (logged): reads then answer from PostgreSQL, writes still
  succeed. The entry expires after ``PILOT_CONFIG_CACHE_TTL`` seconds, which bounds how long a
  refresh lost to a Redis outage could leave an old entry behind.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CACHE_KEY = "pilot:config:v1"


def _ttl() -> int:
    return int(getattr(settings, "PILOT_CONFIG_CACHE_TTL", 300))


def cached_snapshot() -> dict[str, Any] | None:
    try:
        value = cache.get(CACHE_KEY)
    except Exception as exc:  # Redis down or slow: the database answers instead.
        logger.warning("pilot config cache unavailable on read: %s", exc.__class__.__name__)
        return None
    return value if isinstance(value, dict) else None


def fill(data: dict[str, Any]) -> None:
    """A reader's fill: only when nothing is cached (never overwrites a writer's entry)."""
    try:
        cache.add(CACHE_KEY, data, _ttl())
    except Exception as exc:
        logger.warning("pilot config cache unavailable on fill: %s", exc.__class__.__name__)


def store(data: dict[str, Any]) -> bool:
    """A writer's refresh (called under the pilot lock). False when the cache did not take it."""
    try:
        cache.set(CACHE_KEY, data, _ttl())
        return True
    except Exception as exc:
        logger.error("pilot config cache refresh failed: %s", exc.__class__.__name__)
        forget()
        return False


def forget() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception as exc:
        logger.warning("pilot config cache unavailable on delete: %s", exc.__class__.__name__)
