"""``/api/v1/reports/sla/``: MTTA, MTTR and SLA compliance per severity for a period."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView
from core.api.periods import period_parameters
from core.periods import period_parse
from incidents.permissions import IncidentPerm
from incidents.sla.reports import DEFAULT_PERIOD_DAYS, sla_report


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
    """Incidents opened from ``from`` to ``to`` (inclusive dates; default: the last 30 days;
    at most ``core.periods.MAX_PERIOD_DAYS``)."""

    action_permissions = {"get": IncidentPerm.VIEW}

    @extend_schema(
        operation_id="reports_sla",
        parameters=period_parameters(),
        responses=SlaReportSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        period = period_parse(  # 400 when unusable
            start=params.get("from"), end=params.get("to"), default_days=DEFAULT_PERIOD_DAYS
        )
        report = sla_report(start=period.since, end=period.until)
        report["from"], report["to"] = period.start.isoformat(), period.end.isoformat()
        return Response(report)
