"""Limit/offset pagination that never counts the table: it fetches one row more than it shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

if TYPE_CHECKING:
    from rest_framework.views import APIView

MAX_LIMIT = 500
MAX_OFFSET = 10**12  # beyond this the database's bigint OFFSET overflows (a 500, not a 400)


def _int_param(request: Request, name: str, default: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < 0:
        raise ValidationError({name: ["Must not be negative."]})
    if value > MAX_OFFSET:
        raise ValidationError({name: [f"Must be at most {MAX_OFFSET}."]})
    return min(value, maximum) if maximum is not None else value


class Pagination(BasePagination):
    default_limit = 50

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        self.limit = _int_param(request, "limit", self.default_limit, MAX_LIMIT) or 1
        self.offset = _int_param(request, "offset", 0, None)
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        return rows[: self.limit]

    def _url(self, offset: int | None) -> str | None:
        if offset is None:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, "limit", self.limit)
        if offset == 0:
            return remove_query_param(url, "offset")
        return replace_query_param(url, "offset", offset)

    def get_paginated_response(self, data: Any) -> Response:
        next_offset = self.offset + self.limit if self.has_next else None
        prev_offset = max(self.offset - self.limit, 0) if self.offset > 0 else None
        return Response(
            {"next": self._url(next_offset), "previous": self._url(prev_offset), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer"}},
        ]
