from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.models import ApiKey

logger = logging.getLogger(__name__)


if TYPE_CHECKING:
    from rest_framework.views import APIView


class PerClientThrottle(SimpleRateThrottle):
    """A rate per API key (per user for browser sessions, per address for anonymous calls).

    It fails open: when the cache (Redis) is down the API keeps serving — the kill switch and the
    config read must never depend on the throttle's bookkeeping."""

    scope = "client"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache backend's connection errors vary by client
            logger.warning("throttle skipped, cache unavailable: %s", exc.__class__.__name__)
            return True
