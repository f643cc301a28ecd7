"""The pilot config as OpenFeature flags (the OpenFeature Remote Evaluation Protocol, OFREP).

Spec: https://github.com/open-feature/protocol (``service/openapi.yaml``). The flags are one
reading of :class:`pilot.selectors.ConfigSnapshot` — the very snapshot the config read serves —
so an SDK and ``GET /api/v1/pilot/config/`` can never disagree:

* ``enabled`` (boolean): the kill switch,
* ``template_version`` (string): the template version new deals use ("" when none),
* each hotfix flag of the revision (boolean), under its own name. A hotfix flag can never shadow
  the two above (their names are reserved here; the snapshot's own fields win).

Reasons: ``STATIC`` — the value is the same for every evaluation context (nothing here
targets); ``DEFAULT`` — the config was never initialised and the values are the fail-safe ones
(pilot off). ``DISABLED`` is deliberately not used for a switched-off pilot: in OpenFeature it
means "the flag is disabled, use your own default", and an SDK's default for ``enabled`` could
be ``true``; the kill switch's ``false`` is a value.

Nothing here reads the request's evaluation context beyond checking its shape, since no flag
targets; a request whose body is not a JSON object is a ``PARSE_ERROR``, a ``context`` that is
not an object an ``INVALID_CONTEXT`` (both 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pilot.selectors import ConfigSnapshot

FLAG_ENABLED = "enabled"
FLAG_TEMPLATE_VERSION = "template_version"


class Reason(StrEnum):
    STATIC = "STATIC"
    DEFAULT = "DEFAULT"


class ErrorCode(StrEnum):
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    PARSE_ERROR = "PARSE_ERROR"
    INVALID_CONTEXT = "INVALID_CONTEXT"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
    GENERAL = "GENERAL"


@dataclass(frozen=True)
class RequestError:
    """Why an evaluation request's body was refused (answered with 400)."""

    code: ErrorCode
    details: str


def request_error(body: bytes) -> RequestError | None:
    """None when ``body`` is an acceptable evaluation request: empty, or a JSON object whose
    optional ``context`` is an object."""
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return RequestError(ErrorCode.PARSE_ERROR, "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return RequestError(ErrorCode.PARSE_ERROR, "The request body must be a JSON object.")
    context = data.get("context")
    if context is not None and not isinstance(context, dict):
        return RequestError(ErrorCode.INVALID_CONTEXT, "The context must be a JSON object.")
    return None


def flag_values(snapshot: ConfigSnapshot) -> dict[str, bool | str]:
    """Every flag's value, in the order the bulk answer lists them."""
    values: dict[str, bool | str] = {
        FLAG_ENABLED: snapshot.enabled,
        FLAG_TEMPLATE_VERSION: snapshot.template_version,
    }
    for name in sorted(snapshot.flags):
        values.setdefault(name, snapshot.flags[name])
    return values


def _variant(value: bool | str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return value or "none"


def _success(snapshot: ConfigSnapshot, key: str, value: bool | str) -> dict[str, Any]:
    return {
        "key": key,
        "value": value,
        "reason": (Reason.STATIC if snapshot.revision else Reason.DEFAULT).value,
        "variant": _variant(value),
        "metadata": {"revision": snapshot.revision, "state": snapshot.state},
    }


def evaluate_flag(snapshot: ConfigSnapshot, key: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the single-flag evaluation: 200 with the value, or 404
    ``FLAG_NOT_FOUND``. The answer is never cacheable: the kill switch must be seen at once."""
    values = flag_values(snapshot)
    if key not in values:
        return 404, {
            "key": key,
            "errorCode": ErrorCode.FLAG_NOT_FOUND.value,
            "errorDetails": f"No flag named {key!r}.",
        }
    return 200, {**_success(snapshot, key, values[key]), "cacheable": False}


def evaluate_all(snapshot: ConfigSnapshot) -> dict[str, Any]:
    """The bulk evaluation's body: every flag."""
    return {"flags": [_success(snapshot, k, v) for k, v in flag_values(snapshot).items()]}


def bulk_etag(snapshot: ConfigSnapshot) -> str:
    """The bulk answer depends on nothing but the revision (no flag targets), so its ETag
    changes exactly when the revision does."""
    return f'"ofrep-r{snapshot.revision}"'


def flag_error_body(key: str, error: RequestError) -> dict[str, Any]:
    return {"key": key, "errorCode": error.code.value, "errorDetails": error.details}


def bulk_error_body(error: RequestError) -> dict[str, Any]:
    return {"errorCode": error.code.value, "errorDetails": error.details}
