"""Redis copy of what authenticating an API key needs (the key, its user, the user's permissions),
so the platform's hot path (the config read) costs one cache round trip instead of three queries.

Correctness over speed: every entry carries the *auth epoch* it was computed under, and any change
that can withdraw access — a key revoked, a user saved, group or permission memberships changed —
bumps the epoch, which invalidates every entry at once. The entry and the epoch are read in one
``get_many`` round trip, and the epoch is read *before* the database when filling, so an entry
computed before a revocation can never be taken for a current one. Any cache failure means "no
entry": the database answers, as it did before the cache existed.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

EPOCH_KEY = "auth:epoch"


def _entry_key(digest: str) -> str:
    return f"auth:key:{digest}"


def lookup_keys(digest: str) -> list[str]:
    """The cache keys :func:`current` needs, in its order (for callers batching round trips)."""
    return [_entry_key(digest), EPOCH_KEY]


def current(entry: Any, epoch_value: Any) -> tuple[dict[str, Any] | None, int]:
    """(the entry when it was computed under the current epoch, else None; the epoch)."""
    epoch = int(epoch_value or 0)
    if isinstance(entry, dict) and entry.get("epoch") == epoch:
        return entry, epoch
    return None, epoch


def lookup(digest: str) -> tuple[dict[str, Any] | None, int | None]:
    """(the entry when valid under the current epoch, the epoch seen); (None, None) if down."""
    keys = lookup_keys(digest)
    try:
        found = cache.get_many(keys)
    except Exception as exc:  # the cache client's errors vary; the database is the fallback
        logger.warning("auth cache unavailable: %s", exc.__class__.__name__)
        return None, None
    return current(found.get(keys[0]), found.get(keys[1]))


def store(digest: str, entry: dict[str, Any], *, epoch: int) -> None:
    try:
        cache.set(_entry_key(digest), {**entry, "epoch": epoch}, settings.API_KEY_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("auth cache not written: %s", exc.__class__.__name__)


def bump_epoch() -> None:
    """Invalidate every cached key. Called after commit of anything that can withdraw access."""
    try:
        try:
            cache.incr(EPOCH_KEY)
        except ValueError:  # not there yet (or evicted): any new value invalidates old entries
            if not cache.add(EPOCH_KEY, 1, timeout=None):
                cache.incr(EPOCH_KEY)
    except Exception as exc:
        logger.warning("auth epoch not bumped: %s", exc.__class__.__name__)
