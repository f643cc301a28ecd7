"""The project's URLs plus the bare baseline view of case 1 (present only in bench settings)."""

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path

BODY = {
    "enabled": True,
    "state": "running",
    "template_version": "v1",
    "flags": {"hotfix_dispute_resolution": False, "hotfix_timer_display": False},
    "revision": 1,
}


def baseline(request: HttpRequest) -> JsonResponse:
    """A constant JSON body through the same middleware stack: no auth, no database."""
    return JsonResponse(BODY)


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/baseline/", baseline, name="bench-baseline"),
    path("", include("config.urls")),
]

handler400 = "core.api.exceptions.handler400"
handler403 = "core.api.exceptions.handler403"
handler404 = "core.api.exceptions.handler404"
handler500 = "core.api.exceptions.handler500"
