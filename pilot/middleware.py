"""The platform's hot path, answered before the browser half of the middleware stack.

``GET /api/v1/pilot/config/`` is called by the pilot platform on every deal creation, with a
Bearer key. Sessions, locale, CSRF, messages, the login lockout and static files have nothing to
do with it, yet each costs CPU on every request. This middleware sits right after the security
ones (request id, HSTS and friends, CSP), tries the one-round-trip cached read, and when that
is not a clean hit hands the request to the rest of the stack unchanged — where the URL conf's
``ConfigView`` answers it the ordinary way.

The OpenFeature (OFREP) evaluations — ``POST /ofrep/v1/evaluate/flags`` and
``POST /ofrep/v1/evaluate/flags/{key}`` — are the same read for OpenFeature SDKs (a server SDK
evaluates a flag per call) and take the same way; their DRF views answer a miss.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from pilot.api.ofrep import ofrep_read_cached
from pilot.api.views import config_read_cached


class ConfigReadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = reverse("api:pilot-config")  # the route ConfigView answers on a miss
        self.ofrep_bulk = reverse("ofrep-bulk")  # and OfrepBulkView / OfrepFlagView
        self.ofrep_flag = self.ofrep_bulk + "/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path_info == self.path:
            response = config_read_cached(request)
            if response is not None:
                return response
        elif request.method == "POST" and request.path_info.startswith(self.ofrep_bulk):
            response = self._ofrep(request, request.path_info)
            if response is not None:
                return response
        return self.get_response(request)

    def _ofrep(self, request: HttpRequest, path: str) -> HttpResponse | None:
        if path == self.ofrep_bulk:
            return ofrep_read_cached(request, None)
        key = path.removeprefix(self.ofrep_flag)
        if path.startswith(self.ofrep_flag) and key and "/" not in key:  # as the route's <str:key>
            return ofrep_read_cached(request, key)
        return None
