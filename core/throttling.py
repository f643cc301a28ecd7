"""A fixed-window rate limit per API key: one Redis round trip (INCR + EXPIRE) a request.

DRF's stock throttle keeps a list of timestamps per client and rewrites it on every request;
on the platform's hot path (the config read) that costs more than the read itself."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.cache import read_and_count
from core.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@lru_cache(maxsize=16)
def parse_rate(rate: str) -> tuple[int, int]:
    """ "6000/min" → (6000, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0]]


def _count(key: str, ttl: int) -> int:
    return int(read_and_count([], key, ttl)[1] or 0)


def window_key(scope: str, ident: str, now: float, period: int) -> str:
    return f"throttle:{scope}:{ident}:{int(now // period)}"


def key_ident(digest: str) -> str:
    """An API key's throttle identity: its digest's start, known before the key is looked up
    (so a one-round-trip read can count the request in the same round trip)."""
    return f"key:{digest[:32]}"


# The attribute a request carries when its count for this window was already taken (by
# ``core.fast_read``, in the round trip that authenticated it): (window key, count).
PRECOUNTED_ATTR = "pcp_throttle_count"


class PerClientThrottle(BaseThrottle):
    """The rate of ``DEFAULT_THROTTLE_RATES["client"]`` per API key (per user for browser
    sessions, per address for anonymous calls). It fails open: when the cache is down the API
    keeps serving — the kill switch and the config read never depend on this bookkeeping."""

    scope = "client"
    THROTTLE_RATES: ClassVar[dict[str, Any]] = api_settings.DEFAULT_THROTTLE_RATES
    _wait: float | None = None

    def _ident(self, request: Request) -> str:
        if isinstance(request.auth, ApiKey):
            return key_ident(request.auth.digest)
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = self.THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        key = window_key(self.scope, self._ident(request), now, period)
        precounted = getattr(request, PRECOUNTED_ATTR, None)
        if precounted is not None and precounted[0] == key:
            count = int(precounted[1])
        else:
            try:
                count = _count(key, period + 1)
            except Exception as exc:  # the cache client's connection errors vary
                logger.warning("throttle skipped, cache unavailable: %s", exc.__class__.__name__)
                return True
        if count > limit:
            self._wait = (int(now // period) + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
