"""The platform's hot path, answered before the browser half of the middleware stack.

``GET /api/v1/pilot/config/`` is called by the pilot platform on every deal creation, with a
Bearer key. Sessions, locale, CSRF, messages, the login lockout and static files have nothing to
do with it, yet each costs CPU on every request. This middleware sits right after the security
ones (request id, HSTS and friends, CSP), tries the one-round-trip cached read, and when that
is not a clean hit hands the request to the rest of the stack unchanged — where the URL conf's
``ConfigView`` answers it the ordinary way.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from pilot.api.views import config_read_cached


class ConfigReadMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = reverse("api:pilot-config")  # the route ConfigView answers on a miss

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path_info == self.path:
            response = config_read_cached(request)
            if response is not None:
                return response
        return self.get_response(request)
