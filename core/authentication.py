from typing import Any

from django.http import HttpRequest
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from core.services import api_key_authenticate


class BearerKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>``. A revoked or expired key fails on its very next request."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        raw = raw.strip()
        if not raw:
            raise AuthenticationFailed("Empty bearer token.")
        api_key = api_key_authenticate(raw)
        if api_key is None:
            raise AuthenticationFailed("Invalid, revoked or expired API key.")
        return (api_key.user, api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class JSONSessionAuthentication(SessionAuthentication):
    """The admin's browser session, with CSRF enforced on unsafe methods."""

    def authenticate_header(self, request: HttpRequest | Request) -> str:
        # Makes DRF answer 401 (not 403) to a request with no credentials at all.
        return 'Bearer realm="api"'


class BearerKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "core.authentication.BearerKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}


class JSONSessionScheme(SessionScheme):  # type: ignore[no-untyped-call]
    target_class = "core.authentication.JSONSessionAuthentication"
    name = "cookieAuth"
