"""One access line per request (production): method, route, status, duration and request id."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("core.access")


class AccessLogMiddleware:
    """Sits just inside RequestIdMiddleware so the line carries the request id; the route is the
    URL pattern (``api/v1/incidents/<uuid:pk>/``), which groups requests the way a dashboard
    wants, and is empty for a request no pattern served (a 404, the config-read fast path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.ACCESS_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        match = request.resolver_match
        route = f"/{match.route}" if match is not None and match.route else ""
        logger.info(
            "%s %s %s %.2fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
