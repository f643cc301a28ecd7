"""One-round-trip authorised reads, for the platform's hot path (the pilot config read).

A read through DRF costs three cache round trips (the key's auth entry, the throttle counter,
the data) plus DRF's request machinery. :func:`authorised_read` does the same checks in one
round trip — the auth entry, the auth epoch, the throttle counter and the caller's own cache
keys together — and answers only when every one of them is a clean hit:

* a well-formed ``Authorization: Bearer`` key whose auth-cache entry is current under the auth
  epoch (so a revoked key, or a user changed since, is never served from here),
* the key has not expired and its last-used time needs no write,
* the key's user holds ``perm``,
* the request is within the client's rate.

Anything else — no bearer key, a miss, a refusal, a throttled client, the cache down — returns
None, and the caller answers through its ordinary DRF view, which decides exactly as before
(and produces the same 401/403/429 bodies). The request's throttle count is handed on, so the
slow path does not count the request twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from core import auth_cache, services
from core.cache import read_and_count
from core.throttling import PRECOUNTED_ATTR, PerClientThrottle, key_ident, parse_rate, window_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    values: list[Any]  # the cached values of the caller's keys, in order (None when absent)


def authorised_read(request: HttpRequest, *, perm: str, keys: Sequence[str]) -> Hit | None:
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    digest = services.api_key_digest_of(raw.strip())
    if digest is None:
        return None
    rate = PerClientThrottle.THROTTLE_RATES.get(PerClientThrottle.scope)
    counter, limit, ttl = None, None, 60
    if rate:
        limit, period = parse_rate(rate)
        ident = key_ident(digest)
        counter, ttl = window_key(PerClientThrottle.scope, ident, time.time(), period), period + 1
    auth_keys = auth_cache.lookup_keys(digest)
    try:
        values, count = read_and_count([*auth_keys, *keys], counter, ttl)
    except Exception as exc:  # the cache client's errors vary; the slow path copes
        logger.warning("fast read unavailable: %s", exc.__class__.__name__)
        return None
    if counter is not None:
        setattr(request, PRECOUNTED_ATTR, (counter, count))
    entry, _ = auth_cache.current(values[0], values[1])
    if entry is None or not services.api_key_entry_fresh(entry, timezone.now()):
        return None
    if not services.api_key_entry_has_perm(entry, perm):
        return None
    if limit is not None and (count or 0) > limit:
        return None
    return Hit(values=values[len(auth_keys) :])
