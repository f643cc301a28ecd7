"""``GET /api/v1/reports/go-no-go/``: the Go/No-Go report for a period."""

from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from console.permissions import ConsolePerm
from console.selectors import Period, go_no_go_report, period_from
from core.api.base import ApiView
from core.errors import DomainError


class GoNoGoQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class GoNoGoSerializer(serializers.Serializer):  # type: ignore[type-arg]
    # ``from`` is a keyword: declared below under its API name.
    to = serializers.DateField()
    recommendation = serializers.ChoiceField(choices=["GO", "NO_GO"])
    reasons = serializers.ListField(child=serializers.CharField())
    pilot = serializers.DictField()
    incidents_by_severity = serializers.DictField(child=serializers.IntegerField())
    sla = serializers.DictField(help_text="compliance (overall), judged, per_severity")
    mtta_seconds = serializers.FloatField(allow_null=True)
    mttr_seconds = serializers.FloatField(allow_null=True)
    open_sev0_sev1 = serializers.ListField(child=serializers.IntegerField())
    open_findings = serializers.IntegerField()
    config_changes = serializers.IntegerField()
    rollbacks = serializers.IntegerField()
    threshold = serializers.FloatField()
    generated_at = serializers.DateTimeField()


GoNoGoSerializer._declared_fields["from"] = serializers.DateField()


def parse_period(params: Any) -> Period:
    """The period of ``?from=&to=`` (inclusive dates); errors name the API's fields."""
    query = GoNoGoQuerySerializer(
        data={k: v for k, v in (("start", params.get("from")), ("end", params.get("to"))) if v}
    )
    if not query.is_valid():
        names = {"start": "from", "end": "to"}
        fields: dict[str, object] = {
            names.get(str(k), str(k)): [str(e) for e in v] for k, v in query.errors.items()
        }
        raise DomainError("Invalid period: use dates as YYYY-MM-DD.", fields=fields)
    start: date | None = query.validated_data.get("start")
    end: date | None = query.validated_data.get("end")
    try:
        return period_from(start=start, end=end)
    except ValueError as exc:
        raise DomainError(str(exc), fields={"to": [str(exc)]}) from None


class GoNoGoView(ApiView):
    """Pilot state, incidents by severity, SLA compliance, MTTA/MTTR, open SEV0/SEV1, open
    findings, config changes and rollbacks, and the recommendation with its reasons.
    Default period: the last ``GO_NO_GO_DEFAULT_DAYS`` (14) days."""

    action_permissions = {"get": ConsolePerm.VIEW_GO_NO_GO}

    @extend_schema(
        operation_id="reports_go_no_go",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=False),
            OpenApiParameter("to", OpenApiTypes.DATE, required=False),
        ],
        responses=GoNoGoSerializer,
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        period = parse_period(request.query_params)
        return Response(go_no_go_report(period=period).as_data())
