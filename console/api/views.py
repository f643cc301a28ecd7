"""``GET /api/v1/reports/go-no-go/``: the Go/No-Go report for a period."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from console.permissions import ConsolePerm
from console.selectors import go_no_go_report, period_from
from core.api.base import ApiView
from core.api.periods import period_parameters


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


class GoNoGoView(ApiView):
    """Pilot state, incidents by severity, SLA compliance, MTTA/MTTR, open SEV0/SEV1, open
    findings, config changes and rollbacks, and the recommendation with its reasons.
    Default period: the last ``GO_NO_GO_DEFAULT_DAYS`` (14) days."""

    action_permissions = {"get": ConsolePerm.VIEW_GO_NO_GO}

    @extend_schema(
        operation_id="reports_go_no_go",
        parameters=period_parameters(),
        responses=GoNoGoSerializer,
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        period = period_from(start=params.get("from"), end=params.get("to"))  # 400 when unusable
        return Response(go_no_go_report(period=period).as_data())
