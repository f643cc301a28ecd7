"""The OpenAPI schema documents what every operation can answer, from one place.

Every error the API returns has one shape (``core.api.exceptions.error_body``), and which errors
an operation can return follows from what runs for every request: parsing and validation
(400), authentication (401), the action-permission map (403), lookups (404), the throttle
(429), a database that stops answering (503); and, for the unsafe methods, the
``Idempotency-Key`` claim (409 while the same key is in flight or a state conflict, 422 for the
same key with another body), the body-size limit (413) and the parser (415). The views declare
only their success responses; this schema class adds the rest, so a generated client types
every error and no view can forget one."""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter

from core import idempotency

UNSAFE_METHODS = idempotency.UNSAFE_METHODS


# The envelope of core.api.exceptions.error_body, as two named components.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable: e.g. invalid."},
        "message": {"type": "string", "description": "One sentence for a person."},
        "fields": {
            "type": "object",
            "additionalProperties": {},
            "description": "Validation errors by field name (400 ``invalid`` only).",
        },
    },
    "required": ["code", "message"],
}
ERROR_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"$ref": "#/components/schemas/Error"}},
    "required": ["error"],
}


# What each status means here; an operation documents those that can happen to it.
ERRORS_ANY: dict[str, str] = {
    "400": "Malformed request or invalid parameters (``invalid``, ``malformed_request``).",
    "401": "No credentials, or a key that is unknown, revoked or expired.",
    "403": "The caller's role may not run this action.",
    "404": "No such object (or route).",
    "429": "Too many requests from this client; retry after ``Retry-After`` seconds.",
    "503": "The database is not answering; retry after ``Retry-After`` seconds.",
}
ERRORS_UNSAFE: dict[str, str] = {
    "409": "The object's state does not allow this action, or a request with the same "
    "``Idempotency-Key`` is still in flight.",
    "413": "The request body is too large.",
    "415": "The request body is not JSON.",
    "422": "The ``Idempotency-Key`` was already used for a different request.",
}

IDEMPOTENCY_KEY = OpenApiParameter(
    name=idempotency.HEADER,
    type={"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the request safe to retry: the same key with the same body within 24 h replays "
        "the first response (header ``Idempotent-Replayed: true``); with another body it is a "
        "422; while the first is still running, a 409."
    ),
)


def error_codes(method: str) -> dict[str, str]:
    """The error statuses an operation with this HTTP method documents, and what they mean."""
    return {**ERRORS_ANY, **(ERRORS_UNSAFE if method.upper() in UNSAFE_METHODS else {})}


class AutoSchema(SpectacularAutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method in UNSAFE_METHODS and self._claims_idempotency_key():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _claims_idempotency_key(self) -> bool:
        from core.api.base import ApiView

        return isinstance(self.view, ApiView)

    def _error_ref(self) -> dict[str, str]:
        for name, schema in (("Error", ERROR_SCHEMA), ("ErrorResponse", ERROR_RESPONSE_SCHEMA)):
            component = ResolvedComponent(  # type: ignore[no-untyped-call]
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
            )
            self.registry.register_on_missing(component)
        return dict(component.ref)

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = dict(super()._get_response_bodies(direction))
        envelope = {"application/json": {"schema": self._error_ref()}}
        for code, description in error_codes(self.method).items():
            if code not in responses:  # else the view documented this status itself
                responses[code] = {"description": description, "content": envelope}
        return responses
