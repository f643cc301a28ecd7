"""HTTP request count and latency by route, method and status class (``/metrics``).

The route is the URL pattern's name (``api:incident-detail``), or its pattern when it has no
name — never the raw path, whose ids would make a series per incident. A request answered
before URL resolution (the config read's hot path in ``pilot.middleware``) is resolved here,
from a small cache of paths that did resolve. The counts are added up in the process and
reach Redis in one batch per second (``core.metrics``): the hot path pays no round trip.

Apps name the routes whose requests are also their own events (``count_route``): pilot's config
reads are counted by the same middleware, labelled by who answered (the hot path's cache or
the view).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve

from core.metrics import EventCounter, EventHistogram, add_soon

HTTP_REQUESTS = EventCounter(
    "pcp_http_requests_total",
    "HTTP requests by route, method and status class.",
    ["route", "method", "status"],
)
HTTP_LATENCY = EventHistogram(
    "pcp_http_request_duration_seconds",
    "Time to answer an HTTP request, by route, method and status class.",
    ["route", "method", "status"],
)

UNMATCHED = "unmatched"  # a path no URL pattern takes (a 404 before any view)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASS = {n: f"{n}xx" for n in range(1, 6)}
_RESOLVED_CACHE_SIZE = 4096

# route name → the counter its requests also add to (labels ``route`` and ``answer``:
# cache | view).
ROUTE_COUNTERS: dict[str, EventCounter] = {}


def count_route(route: str, counter: EventCounter) -> None:
    ROUTE_COUNTERS[route] = counter


def route_of(match: ResolverMatch | None) -> str:
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class HttpMetricsMiddleware:
    """First in the stack, so its time covers every other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.resolved: dict[str, str] = {}
        # (route, method, status, answer) → the counts a request adds and its latency field:
        # worked out once per label set, so a request costs a dict lookup and one buffer add.
        self.plans: dict[tuple[str, str, str, str], tuple[list[tuple[str, str]], str]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        answer = "view"
        if match is not None:
            route = route_of(match)
        else:
            route, answer = self._resolve(request.path_info), "cache"
        method = request.method if request.method in _METHODS else "other"
        status = _STATUS_CLASS.get(response.status_code // 100, "other")
        plan = self.plans.get((route, method, status, answer))
        if plan is None:
            plan = self._plan(route, method, status, answer)
        items, field = plan
        add_soon([*((item, 1) for item in items), *HTTP_LATENCY.observation(field, elapsed)])
        return response

    def _plan(
        self, route: str, method: str, status: str, answer: str
    ) -> tuple[list[tuple[str, str]], str]:
        items = [HTTP_REQUESTS.item(route=route, method=method, status=status)]
        counter = ROUTE_COUNTERS.get(route)
        if counter is not None and route != UNMATCHED:
            items.append(counter.item(route=route, answer=answer))
        plan = items, HTTP_LATENCY.field(route=route, method=method, status=status)
        if len(self.plans) >= _RESOLVED_CACHE_SIZE:
            self.plans.clear()
        self.plans[(route, method, status, answer)] = plan
        return plan

    def _resolve(self, path: str) -> str:
        route = self.resolved.get(path)
        if route is not None:
            return route
        try:
            route = route_of(resolve(path))
        except Resolver404:
            return UNMATCHED
        if len(self.resolved) >= _RESOLVED_CACHE_SIZE:
            self.resolved.clear()  # ids in paths: never let the cache grow without bound
        self.resolved[path] = route
        return route
