"""``/api/v1/feed/...`` (the platform pushes its data) and ``/api/v1/exports/...``."""

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView, ApiViewSet
from core.api.pagination import Pagination
from core.errors import DomainError, NotFound
from incidents.models import Incident
from ledger_audit import feed
from ledger_audit.api import serializers as s
from ledger_audit.models import TimelineExport
from ledger_audit.permissions import LedgerPerm
from ledger_audit.services import export_download_open, export_request

F = TypeVar("F", bound=Callable[..., Any])

ERRORS = {
    400: OpenApiResponse(description="invalid items: error.fields.items.<index>.<field>"),
    413: OpenApiResponse(description="more items than LEDGER_AUDIT_FEED_MAX_BATCH (5,000)"),
    422: OpenApiResponse(description="ids already stored with another body; nothing stored"),
}


class _FeedView(ApiView):
    action_permissions: ClassVar[dict[str, str]] = {"post": LedgerPerm.PUSH_FEED}
    ingest: ClassVar[Any]

    def post(self, request: Request) -> Response:
        items = feed.batch_items(request.data)
        result = type(self).ingest(items=items)
        return Response({"stored": result.stored, "unchanged": result.unchanged})


def _feed_schema(item: Any, summary: str) -> Callable[[F], F]:
    return extend_schema(
        summary=summary,
        request=item(many=True),
        responses={200: s.FeedResultSerializer, **ERRORS},
        tags=["feed"],
    )


class DealEventFeedView(_FeedView):
    ingest = staticmethod(feed.feed_deal_events_ingest)

    @_feed_schema(s.DealEventItemSerializer, "Push deal state events (up to 5,000)")
    def post(self, request: Request) -> Response:
        return super().post(request)


class LedgerEntryFeedView(_FeedView):
    ingest = staticmethod(feed.feed_ledger_entries_ingest)

    @_feed_schema(s.LedgerEntryItemSerializer, "Push ledger entries (immutable; up to 5,000)")
    def post(self, request: Request) -> Response:
        return super().post(request)


class TimerFeedView(_FeedView):
    ingest = staticmethod(feed.feed_timers_ingest)

    @_feed_schema(s.TimerItemSerializer, "Push timers (upsert by timer_id; up to 5,000)")
    def post(self, request: Request) -> Response:
        return super().post(request)


class DisputeFeedView(_FeedView):
    ingest = staticmethod(feed.feed_disputes_ingest)

    @_feed_schema(s.DisputeItemSerializer, "Push disputes (upsert by dispute_id; up to 5,000)")
    def post(self, request: Request) -> Response:
        return super().post(request)


class ExportViewSet(ApiViewSet):
    """Timeline exports of an incident's deals: request, follow progress, download."""

    serializer_class = s.ExportSerializer
    pagination_class = Pagination
    action_permissions = {
        "create": LedgerPerm.REQUEST_EXPORT,
        "list": LedgerPerm.VIEW_EXPORT,
        "retrieve": LedgerPerm.VIEW_EXPORT,
        "download": LedgerPerm.DOWNLOAD_EXPORT,
    }

    def get_queryset(self) -> QuerySet[TimelineExport]:
        qs = TimelineExport.objects.select_related("incident", "requested_by").order_by("-id")
        number = self.request.query_params.get("incident")
        if number:
            if not number.isdigit():
                raise DomainError(
                    "incident must be an incident number.",
                    fields={"incident": ["A number is required."]},
                )
            qs = qs.filter(incident__number=int(number))
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("incident", OpenApiTypes.INT, description="incident number")],
        tags=["exports"],
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = s.ExportSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=s.ExportRequestSerializer,
        responses={202: s.ExportCreatedSerializer},
        tags=["exports"],
    )
    def create(self, request: Request) -> Response:
        body = s.ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = Incident.objects.filter(number=body.validated_data["incident"]).first()
        if incident is None:
            raise NotFound(
                f"No incident #{body.validated_data['incident']}.",
                fields={"incident": ["No such incident."]},
            )
        export = export_request(
            incident=incident,
            actor=request.user,  # type: ignore[arg-type]
            deal_ids=body.validated_data.get("deal_ids"),
        )
        return Response({"id": export.pk, "status": export.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["exports"])
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        export = self.get_object()
        return Response(s.ExportSerializer(export, context={"request": request}).data)

    @extend_schema(
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(response=OpenApiTypes.BINARY),
            409: OpenApiResponse(description="not finished yet"),
        },
        tags=["exports"],
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        export = self.get_object()
        handle = export_download_open(export=export, actor=request.user, via="api")  # type: ignore[arg-type]
        return export_file_response(export, handle)


def export_file_response(export: TimelineExport, handle: Any) -> FileResponse:
    filename = export.file_name.rsplit("/", 1)[-1]
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/x-ndjson"
    )
    response["X-Content-SHA256"] = export.sha256
    response["Cache-Control"] = "no-store"
    return response
