"""``/api/v1/reports/sla/``: MTTA, MTTR and SLA compliance per severity for a period."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView
from incidents.permissions import IncidentPerm
from incidents.sla.reports import sla_report

DEFAULT_DAYS = 30


class SlaReportQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        mapped = {k: v for k, v in (("start", data.get("from")), ("end", data.get("to"))) if v}
        try:
            return super().to_internal_value(mapped)
        except serializers.ValidationError as exc:
            detail: Any = exc.detail
            if isinstance(detail, dict):
                names = {"start": "from", "end": "to"}
                raise serializers.ValidationError(
                    {names.get(str(k), str(k)): v for k, v in detail.items()}
                ) from None
            raise

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end: date = attrs.get("end") or timezone.localdate()
        start: date = attrs.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return {"start": start, "end": end}


class SeverityComplianceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    acknowledged_in_time = serializers.IntegerField()
    acknowledged_late = serializers.IntegerField()
    resolved = serializers.IntegerField()
    resolved_in_time = serializers.IntegerField()
    resolved_late = serializers.IntegerField()
    mtta_seconds = serializers.FloatField(allow_null=True)
    mttr_seconds = serializers.FloatField(allow_null=True)
    compliance = serializers.FloatField(
        allow_null=True, help_text="Share acknowledged by the response deadline (0-1)."
    )


class SlaReportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    # ``from`` is a keyword: declared below under its API name.
    to = serializers.DateField()
    mtta_seconds = serializers.FloatField(allow_null=True)
    mttr_seconds = serializers.FloatField(allow_null=True)
    per_severity = serializers.DictField(child=SeverityComplianceSerializer())


SlaReportSerializer._declared_fields["from"] = serializers.DateField()


class SlaReportView(ApiView):
    """Incidents opened from ``from`` to ``to`` (inclusive dates; default: the last 30 days)."""

    action_permissions = {"get": IncidentPerm.VIEW}

    @extend_schema(
        operation_id="reports_sla",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=False),
            OpenApiParameter("to", OpenApiTypes.DATE, required=False),
        ],
        responses=SlaReportSerializer,
    )
    def get(self, request: Request) -> Response:
        query = SlaReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start: date = query.validated_data["start"]
        end: date = query.validated_data["end"]
        zone = timezone.get_current_timezone()
        report = sla_report(
            start=datetime.combine(start, time.min, tzinfo=zone),
            end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
        )
        report["from"], report["to"] = start.isoformat(), end.isoformat()
        return Response(report)
