"""OFREP endpoints (``POST /ofrep/v1/evaluate/flags/{key}`` and the bulk
``POST /ofrep/v1/evaluate/flags``): thin adapters over :mod:`pilot.ofrep`, reading the same
config snapshot as the config read, with the same Bearer keys and ``pilot.read_config``.

Like the config read, both are answered from one cache round trip when everything is cached
(:func:`ofrep_read_cached`, called by ``pilot.middleware``) and otherwise by the DRF views
below; either way the status, body and headers are the same. Refusals (401, 403, 429) are
always the DRF views' (the project's error body; OFREP gives them no body of its own).
"""

from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import fast_read
from pilot import cache as pilot_cache
from pilot import ofrep, selectors
from pilot.permissions import PilotPerm

Answer = tuple[int, dict[str, str], dict[str, Any] | None]

_NO_CACHE = {"Cache-Control": "no-cache"}


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    return any(part.strip().removeprefix("W/") == etag for part in header.split(","))


def flag_answer(snapshot: selectors.ConfigSnapshot, key: str, body: bytes) -> Answer:
    error = ofrep.request_error(body)
    if error is not None:
        return 400, dict(_NO_CACHE), ofrep.flag_error_body(key, error)
    code, data = ofrep.evaluate_flag(snapshot, key)
    return code, dict(_NO_CACHE), data


def bulk_answer(
    snapshot: selectors.ConfigSnapshot, body: bytes, if_none_match: str | None
) -> Answer:
    error = ofrep.request_error(body)
    if error is not None:
        return 400, dict(_NO_CACHE), ofrep.bulk_error_body(error)
    etag = ofrep.bulk_etag(snapshot)
    headers = {**_NO_CACHE, "ETag": etag}
    if if_none_match and _etag_matches(if_none_match, etag):
        return 304, headers, None
    return 200, headers, ofrep.evaluate_all(snapshot)


_json = JSONRenderer()
_ALLOW = "POST, OPTIONS"  # what DRF lists for these views (a test compares the two paths)


def ofrep_read_cached(request: HttpRequest, key: str | None) -> HttpResponse | None:
    """An OFREP evaluation (``key``; None: the bulk one) answered from one cache round trip, or
    None when the key, permission, rate or config is not a clean cache hit (the DRF view then
    answers)."""
    hit = fast_read.authorised_read(
        request, perm=PilotPerm.READ_CONFIG, keys=[pilot_cache.CACHE_KEY]
    )
    snapshot = selectors.snapshot_from_cached(hit.values[0]) if hit else None
    if snapshot is None:
        return None
    if key is None:
        code, headers, data = bulk_answer(
            snapshot, request.body, request.META.get("HTTP_IF_NONE_MATCH")
        )
    else:
        code, headers, data = flag_answer(snapshot, key, request.body)
    body = b"" if data is None else _json.render(data)
    response = HttpResponse(
        body,
        status=code,
        content_type="application/json",
        headers={
            **headers,
            "Allow": _ALLOW,
            "Content-Length": str(len(body)),
            "X-Frame-Options": settings.X_FRAME_OPTIONS,
        },
    )
    if not body:
        del response["Content-Type"]  # as DRF does for an empty body
    return response


# --- schema (the OFREP spec's shapes) --------------------------------------------------------

_REQUEST = {
    "type": "object",
    "properties": {
        "context": {"type": "object", "description": "Evaluation context (no flag targets)."}
    },
}
_SUCCESS: dict[str, Any] = {
    "type": "object",
    "required": ["key", "value", "reason", "variant"],
    "properties": {
        "key": {"type": "string"},
        "value": {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
        "reason": {"type": "string", "enum": [r.value for r in ofrep.Reason]},
        "variant": {"type": "string"},
        "metadata": {
            "type": "object",
            "properties": {"revision": {"type": "integer"}, "state": {"type": "string"}},
        },
    },
}
_BAD_REQUEST = [ofrep.ErrorCode.PARSE_ERROR.value, ofrep.ErrorCode.INVALID_CONTEXT.value]


def _failure(codes: list[str], *, with_key: bool = True) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "errorCode": {"type": "string", "enum": codes},
        "errorDetails": {"type": "string"},
    }
    if with_key:
        properties = {"key": {"type": "string"}, **properties}
    return {
        "type": "object",
        "required": ["key", "errorCode"] if with_key else ["errorCode"],
        "properties": properties,
    }


_SPEC = "https://github.com/open-feature/protocol (service/openapi.yaml)"


class _OfrepView(APIView):
    """An evaluation is a read sent as a POST: unlike the API's writes (``core.api.base.ApiView``)
    it honours no ``Idempotency-Key``, whose replay would serve an old kill switch."""

    action_permissions: ClassVar[dict[str, str]] = {"post": PilotPerm.READ_CONFIG}


class OfrepFlagView(_OfrepView):
    """OFREP single-flag evaluation: ``enabled`` (the kill switch), ``template_version`` and
    each hotfix flag."""

    @extend_schema(
        tags=["ofrep"],
        operation_id="ofrep_evaluate_flag",
        description=f"OpenFeature Remote Evaluation Protocol, single flag. Spec: {_SPEC}.",
        request={"application/json": _REQUEST},
        responses={
            200: OpenApiResponse(
                {
                    **_SUCCESS,
                    "properties": {**_SUCCESS["properties"], "cacheable": {"type": "boolean"}},
                }
            ),
            400: OpenApiResponse(_failure(_BAD_REQUEST), description="A malformed request."),
            404: OpenApiResponse(
                _failure([ofrep.ErrorCode.FLAG_NOT_FOUND.value]), description="No such flag."
            ),
        },
    )
    def post(self, request: Request, key: str) -> Response:
        code, headers, data = flag_answer(selectors.pilot_config_current(), key, request.body)
        return Response(data, status=code, headers=headers)


class OfrepBulkView(_OfrepView):
    """OFREP bulk evaluation: every flag, with an ETag that changes with the config revision."""

    @extend_schema(
        tags=["ofrep"],
        operation_id="ofrep_evaluate_flags",
        description=f"OpenFeature Remote Evaluation Protocol, bulk. Spec: {_SPEC}.",
        request={"application/json": _REQUEST},
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={
            200: OpenApiResponse(
                {
                    "type": "object",
                    "required": ["flags"],
                    "properties": {"flags": {"type": "array", "items": _SUCCESS}},
                }
            ),
            304: OpenApiResponse(description="Not modified (the ETag matches)."),
            400: OpenApiResponse(
                _failure(_BAD_REQUEST, with_key=False), description="A malformed request."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        code, headers, data = bulk_answer(
            selectors.pilot_config_current(), request.body, request.headers.get("If-None-Match")
        )
        return Response(data, status=code, headers=headers)
