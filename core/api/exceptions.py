"""Every API error is JSON, ``{"error": {"code", "message", "fields"?}}``; bad input is a 4xx."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import csrf, defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        django_fields: Any = exc.message_dict if hasattr(exc, "error_dict") else None
        return Response(
            error_body("invalid", "; ".join(exc.messages), django_fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return Response(
            error_body("database_unavailable", "The database is not answering; retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields: Any = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body("invalid", _first_message(detail), fields)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        code_str = code if isinstance(code, str) else exc.default_code
        if isinstance(exc, exceptions.ParseError):
            code_str = "malformed_request"
        response.data = error_body(str(code_str), _first_message(exc.detail))
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz/", "/metrics")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(
            error_body("request_too_large", "The request body is too large."), status=413
        )
    if _wants_json(request):
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception or Exception())


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
    return defaults.permission_denied(request, exception or Exception())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: under /api/ a refused session POST (e.g. to a path no view
    matched, which CSRF checks before the JSON 404) answers the error envelope, not HTML."""
    if _wants_json(request):
        return JsonResponse(error_body("csrf_failed", f"CSRF check failed: {reason}"), status=403)
    return csrf.csrf_failure(request, reason)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("not_found", f"No route for {request.path}."), status=404)
    return defaults.page_not_found(request, exception or Exception())


def api_route_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """The last route under ``/api/``: an unknown path is a JSON 404 whatever ``DEBUG`` says
    (Django's debug page would list every URL pattern to whoever asks). A path that exists with
    a trailing slash says so, since ``APPEND_SLASH`` cannot redirect a POST."""
    message = f"No route for {request.path}."
    if not request.path.endswith("/"):
        try:
            resolved = resolve(request.path + "/")
        except Resolver404:
            resolved = None
        if resolved is not None and resolved.func is not api_route_not_found:
            message += f" Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse(error_body("not_found", message), status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        message = "Internal error; it has been logged with the request id."
        return JsonResponse(error_body("server_error", message), status=500)
    return defaults.server_error(request)
