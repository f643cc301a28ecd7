"""``/api/v1/incidents/``: thin adapters over the incident services and selectors."""

import json
from collections.abc import Mapping
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiViewSet
from core.api.pagination import Pagination
from core.api.periods import period_parameters
from core.errors import NotFound
from core.periods import period_parse
from core.roles import Role
from core.services import user_roles
from incidents import selectors, services
from incidents.api import serializers as s
from incidents.enums import Source
from incidents.models import Incident
from incidents.permissions import IncidentPerm
from incidents.transitions import IncidentAction, transition_perm


class MarkdownRenderer(BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return json.dumps(data).encode()  # errors


def _markdown(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


MARKDOWN = OpenApiResponse(response=OpenApiTypes.STR, description="text/markdown")

# API route → the life-cycle act it runs.
LIFECYCLE_ROUTES: dict[str, IncidentAction] = {
    "partial_update": IncidentAction.EDIT_LOG,
    "acknowledge": IncidentAction.ACKNOWLEDGE,
    "resolve": IncidentAction.RESOLVE,
    "close": IncidentAction.CLOSE,
    "defer": IncidentAction.DEFER,
    "reopen": IncidentAction.REOPEN,
    "escalate": IncidentAction.ESCALATE,
    "severity": IncidentAction.SEVERITY,
    "notes": IncidentAction.NOTE,
    "tick": IncidentAction.TICK,
}


class IncidentViewSet(ApiViewSet):
    """Incidents: open, list, read, the life-cycle actions and the incident log."""

    lookup_field = "number"
    lookup_value_regex = r"\d+"
    pagination_class = Pagination
    serializer_class = s.IncidentSerializer
    action_permissions = {
        "list": IncidentPerm.VIEW,
        "retrieve": IncidentPerm.VIEW,
        "create": IncidentPerm.ADD,
        # The life-cycle routes need what the transition table says; the services check the
        # incident's state (409) with the same table.
        **{route: transition_perm(act) for route, act in LIFECYCLE_ROUTES.items()},
        "log": IncidentPerm.VIEW,
        "period_log": IncidentPerm.VIEW,
    }

    def get_renderers(self) -> list[BaseRenderer]:
        if self.action in ("log", "period_log"):  # routed without a trailing slash in urls.py
            return [JSONRenderer(), MarkdownRenderer()]
        return super().get_renderers()

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_queryset()

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def _incident(self) -> Incident:
        number = int(self.kwargs["number"])
        incident = Incident.objects.filter(number=number).first()
        if incident is None:
            raise NotFound(f"Incident #{number:03d} does not exist.")
        return incident

    def _detail(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.incident_get(number=incident.number)
        return Response(s.IncidentDetailSerializer(fresh).data, status=code)

    def _body(self, serializer_class: type[Any]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(
        parameters=[s.IncidentListQuerySerializer], responses=s.IncidentSerializer(many=True)
    )
    def list(self, request: Request) -> Response:
        query = s.IncidentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = selectors.incident_list(filters=dict(query.validated_data))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.IncidentSerializer(page, many=True).data)

    @extend_schema(
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentDetailSerializer, 200: s.IncidentDetailSerializer},
        description="201: opened. 200: a repeat alert (same dedup_key, incident not resolved "
        "or closed) attached to the existing incident.",
    )
    def create(self, request: Request) -> Response:
        data = self._body(s.IncidentCreateSerializer)
        source = Source.API_CLIENT if Role.API_CLIENT in user_roles(self.actor) else Source.PERSON
        incident, created = services.incident_open_or_attach(
            actor=self.actor, source=source, **data
        )
        return self._detail(incident, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses=s.IncidentDetailSerializer)
    def retrieve(self, request: Request, number: str) -> Response:
        incident = selectors.incident_get(number=int(number))
        return Response(s.IncidentDetailSerializer(incident).data)

    @extend_schema(request=s.IncidentLogUpdateSerializer, responses=s.IncidentDetailSerializer)
    def partial_update(self, request: Request, number: str) -> Response:
        changes = self._body(s.IncidentLogUpdateSerializer)
        incident = services.incident_update_log(
            incident=self._incident(), actor=self.actor, changes=changes
        )
        return self._detail(incident)

    @extend_schema(request=None, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, number: str) -> Response:
        incident = services.incident_acknowledge(incident=self._incident(), actor=self.actor)
        return self._detail(incident)

    @extend_schema(request=s.ResolveSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, number: str) -> Response:
        data = self._body(s.ResolveSerializer)
        incident = services.incident_resolve(incident=self._incident(), actor=self.actor, **data)
        return self._detail(incident)

    @extend_schema(request=None, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, number: str) -> Response:
        incident = services.incident_close(incident=self._incident(), actor=self.actor)
        return self._detail(incident)

    @extend_schema(request=s.DeferSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def defer(self, request: Request, number: str) -> Response:
        data = self._body(s.DeferSerializer)
        incident = services.incident_defer(incident=self._incident(), actor=self.actor, **data)
        return self._detail(incident)

    @extend_schema(request=s.ReasonSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, number: str) -> Response:
        data = self._body(s.ReasonSerializer)
        incident = services.incident_reopen(incident=self._incident(), actor=self.actor, **data)
        return self._detail(incident)

    @extend_schema(request=s.EscalateSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, number: str) -> Response:
        data = self._body(s.EscalateSerializer)
        incident = services.incident_escalate(incident=self._incident(), actor=self.actor, **data)
        return self._detail(incident)

    @extend_schema(request=s.SeverityChangeSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def severity(self, request: Request, number: str) -> Response:
        data = self._body(s.SeverityChangeSerializer)
        incident = services.incident_change_severity(
            incident=self._incident(), actor=self.actor, **data
        )
        return self._detail(incident)

    @extend_schema(request=s.NoteSerializer, responses={201: s.IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, number: str) -> Response:
        data = self._body(s.NoteSerializer)
        incident = services.incident_add_note(incident=self._incident(), actor=self.actor, **data)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(request=s.TickSerializer, responses=s.IncidentDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"checklist/(?P<step_id>\d+)/tick")
    def tick(self, request: Request, number: str, step_id: str) -> Response:
        data = self._body(s.TickSerializer)
        incident = self._incident()
        services.checklist_step_tick(
            incident=incident, step_id=int(step_id), actor=self.actor, **data
        )
        return self._detail(incident)

    @extend_schema(operation_id="incidents_log", responses={(200, "text/markdown"): MARKDOWN})
    def log(self, request: Request, number: str) -> HttpResponse:
        incident = self._incident()
        text = selectors.incident_log_markdown(incident=incident)
        return _markdown(text, f"incident-{incident.number:03d}.md")

    @extend_schema(
        operation_id="incidents_period_log",
        parameters=period_parameters(required=True),
        responses={(200, "text/markdown"): MARKDOWN},
    )
    def period_log(self, request: Request) -> HttpResponse:
        params = request.query_params
        period = period_parse(  # both bounds named; 400 when unusable
            start=params.get("from"), end=params.get("to"), default_days=1, required=True
        )
        start, end = period.start, period.end
        text = selectors.incident_log_period_markdown(start=start, end=end)
        return _markdown(text, f"incident-log-{start.isoformat()}-{end.isoformat()}.md")
