"""``/api/v1/integrations/{alertmanager,grafana}/``: the alert receivers (monitoring role).

Thin: the serializer checks the payload's shape, ``incidents.services.alerts`` decides what it
means for incidents."""

from dataclasses import asdict
from typing import ClassVar

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView
from incidents import services
from incidents.api import alert_serializers as s
from incidents.permissions import IncidentPerm


class _AlertReceiver(ApiView):
    serializer_class: ClassVar[type[s.AlertmanagerPayloadSerializer]]
    action_permissions: ClassVar[dict[str, str]] = {"post": IncidentPerm.RECORD_ALERT}

    def post(self, request: Request) -> Response:
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        payload = serializer.payload()
        user = request.user
        outcomes = services.alerts_receive(
            payload=payload, actor=user if isinstance(user, User) else None
        )
        body = {"alerts": len(payload.alerts), "incidents": [asdict(o) for o in outcomes]}
        return Response(s.AlertReceiptSerializer(body).data, status=status.HTTP_200_OK)


class AlertmanagerReceiverView(_AlertReceiver):
    """Alertmanager's webhook receiver (payload version 4)."""

    serializer_class = s.AlertmanagerPayloadSerializer

    @extend_schema(request=s.AlertmanagerPayloadSerializer, responses=s.AlertReceiptSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)


class GrafanaReceiverView(_AlertReceiver):
    """Grafana's webhook contact point."""

    serializer_class = s.GrafanaPayloadSerializer

    @extend_schema(request=s.GrafanaPayloadSerializer, responses=s.AlertReceiptSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)
