"""The project's URLs plus two views that fail, for the error-response tests."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"boom with secret {settings.SECRET_KEY} and pepper-in-message")


urlpatterns = [
    path("api/v1/boom/", boom),
    path("boom/", boom),
    *urlpatterns,
]
