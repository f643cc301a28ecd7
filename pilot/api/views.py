"""The pilot switchboard API: thin adapters over pilot.services / pilot.selectors."""

from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core import fast_read
from core.api.base import ApiView, ApiViewSet
from core.errors import DomainError, NotFound
from core.secret_admin import new_secret
from pilot import cache as pilot_cache
from pilot import selectors, services
from pilot.api import serializers as s
from pilot.models import (
    ChangeRequest,
    ConfigRevision,
    RollbackRecord,
    TemplateVersion,
    WebhookSubscription,
)
from pilot.permissions import PilotPerm


def _actor(request: Request) -> User:
    return cast(User, request.user)


def _incident(number: int | None) -> Any:
    if number is None:
        return None
    incident = selectors.incident_by_number(number=number)
    if incident is None:
        message = _("No incident #%(n)d.") % {"n": number}
        raise DomainError(message, fields={"incident": [message]})
    return incident


def _revision_response(revision: ConfigRevision, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RevisionSerializer(revision).data, status=code)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    candidates = [part.strip() for part in header.split(",")]
    return any(c.removeprefix("W/") == etag for c in candidates)


def _config_answer(
    snapshot: selectors.ConfigSnapshot, if_none_match: str | None
) -> tuple[int, dict[str, str], dict[str, Any] | None]:
    """(status, headers, body) of a config read: 304 with no body when the ETag matches."""
    headers = {"ETag": snapshot.etag, "Cache-Control": "no-cache"}
    if if_none_match and _etag_matches(if_none_match, snapshot.etag):
        return status.HTTP_304_NOT_MODIFIED, headers, None
    return status.HTTP_200_OK, headers, snapshot.as_data()


class ConfigView(ApiView):
    """The pilot's current config, read by the platform on every deal creation."""

    action_permissions = {"get": PilotPerm.READ_CONFIG}

    @extend_schema(
        responses={200: s.ConfigSerializer, 304: None},
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
    )
    def get(self, request: Request) -> Response:
        code, headers, data = _config_answer(
            selectors.pilot_config_current(), request.headers.get("If-None-Match")
        )
        return Response(data, status=code, headers=headers)


_json = JSONRenderer()
_ALLOW = "GET, HEAD, OPTIONS"  # what DRF lists for ConfigView (a test compares the two paths)


def config_read_cached(request: HttpRequest) -> HttpResponse | None:
    """The config read answered from one cache round trip (``core.fast_read``), or None when
    any part of it — key, permission, rate, config — is not a clean cache hit; the request
    then goes through :class:`ConfigView`. Either way the status, body and headers are the same
    (except that ``ConfigView`` also gets the locale middleware's ``Content-Language`` and ``Vary``,
    which this body, free of translated text, does not depend on)."""
    hit = fast_read.authorised_read(
        request, perm=PilotPerm.READ_CONFIG, keys=[pilot_cache.CACHE_KEY]
    )
    snapshot = selectors.snapshot_from_cached(hit.values[0]) if hit else None
    if snapshot is None:
        return None
    code, headers, data = _config_answer(snapshot, request.META.get("HTTP_IF_NONE_MATCH"))
    body = b"" if data is None else _json.render(data)
    response = HttpResponse(
        body,
        status=code,
        content_type="application/json",
        headers={
            **headers,
            "Allow": _ALLOW,
            "Content-Length": str(len(body)),
            "X-Frame-Options": settings.X_FRAME_OPTIONS,
        },
    )
    if not body:
        del response["Content-Type"]  # as DRF does for an empty body
    return response


class DisableView(ApiView):
    """Kill switch: new pilot deals stop at once. Operator and above; no approval."""

    action_permissions = {"post": PilotPerm.DISABLE}

    @extend_schema(request=s.DisableInput, responses=s.RevisionSerializer)
    def post(self, request: Request) -> Response:
        data = s.DisableInput(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.pilot_disable(
            actor=_actor(request),
            reason=data.validated_data["reason"],
            incident=_incident(data.validated_data.get("incident")),
        )
        return _revision_response(revision)


class PauseView(ApiView):
    """Pause (Pilot coordinator and above, at once). Lifting it is an ``enable`` request."""

    action_permissions = {"post": PilotPerm.PAUSE}

    @extend_schema(request=s.PauseInput, responses=s.RevisionSerializer)
    def post(self, request: Request) -> Response:
        data = s.PauseInput(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.pilot_pause(
            actor=_actor(request),
            reason=data.validated_data["reason"],
            incident=_incident(data.validated_data.get("incident")),
        )
        return _revision_response(revision)


class RevertTemplateView(ApiView):
    """Revert the template version to an earlier one (On-call engineer and above, at once)."""

    action_permissions = {"post": PilotPerm.REVERT_TEMPLATE}

    @extend_schema(request=s.RevertTemplateInput, responses=s.RevisionSerializer)
    def post(self, request: Request) -> Response:
        data = s.RevertTemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.pilot_revert_template(
            actor=_actor(request),
            version=data.validated_data["version"],
            reason=data.validated_data["reason"],
            incident=_incident(data.validated_data.get("incident")),
        )
        return _revision_response(revision)


class FlagOffView(ApiView):
    """Switch a hotfix flag off (On-call engineer and above, at once)."""

    action_permissions = {"post": PilotPerm.FLAG_OFF}

    @extend_schema(request=s.FlagOffInput, responses=s.RevisionSerializer)
    def post(self, request: Request, name: str) -> Response:
        data = s.FlagOffInput(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.pilot_flag_off(
            actor=_actor(request),
            flag=name,
            reason=data.validated_data["reason"],
            incident=_incident(data.validated_data.get("incident")),
        )
        return _revision_response(revision)


class RevisionViewSet(ApiViewSet):
    """The config history (newest first) and the diff between two revisions."""

    action_permissions = {
        "list": PilotPerm.VIEW_REVISION,
        "retrieve": PilotPerm.VIEW_REVISION,
        "diff": PilotPerm.VIEW_REVISION,
    }
    serializer_class = s.RevisionSerializer
    lookup_field = "number"
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ConfigRevision]:
        return selectors.revision_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.RevisionSerializer(page, many=True).data)

    def retrieve(self, request: Request, number: str) -> Response:
        return _revision_response(self._get(int(number)))

    def _get(self, number: int) -> ConfigRevision:
        revision = selectors.revision_get(number=number)
        if revision is None:
            raise NotFound(_("No revision r%(n)d.") % {"n": number})
        return revision

    @extend_schema(
        parameters=[OpenApiParameter("against", int, description="Default: the parent.")],
        responses=s.FieldChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def diff(self, request: Request, number: str) -> Response:
        after = self._get(int(number))
        against = request.query_params.get("against")
        if against is not None and not against.isdigit():
            raise DomainError(_("against must be a revision number."))
        before = self._get(int(against)) if against else (after.parent or after)
        changes = selectors.revision_diff(before=before, after=after)
        return Response(s.FieldChangeSerializer(changes, many=True).data)


class ChangeRequestViewSet(ApiViewSet):
    """Changes towards risk: filed by one person, approved by another (four eyes)."""

    action_permissions = {
        "list": PilotPerm.VIEW_CHANGE_REQUEST,
        "retrieve": PilotPerm.VIEW_CHANGE_REQUEST,
        "create": PilotPerm.ADD_CHANGE_REQUEST,
        "approve": PilotPerm.APPROVE_CHANGE_REQUEST,
        "reject": PilotPerm.APPROVE_CHANGE_REQUEST,
    }
    serializer_class = s.ChangeRequestSerializer

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        qs = selectors.change_request_list()
        status_filter = self.request.query_params.get("status")
        if status_filter:
            qs = qs.filter(status=status_filter)
        if self.request.query_params.get("awaiting_me") in ("1", "true"):
            qs = selectors.change_requests_awaiting(user=self.request.user)
        return qs

    def _get(self, pk: str) -> ChangeRequest:
        request = selectors.change_request_list().filter(pk=pk).first() if pk.isdigit() else None
        if request is None:
            raise NotFound(_("No such change request."))
        return request

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str),
            OpenApiParameter("awaiting_me", bool, description="Pending requests I may decide."),
        ]
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ChangeRequestSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.ChangeRequestSerializer(self._get(pk)).data)

    @extend_schema(request=s.ChangeRequestInput, responses={201: s.ChangeRequestSerializer})
    def create(self, request: Request) -> Response:
        data = s.ChangeRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        change_request = services.change_request_create(
            actor=_actor(request),
            action=data.validated_data["action"],
            params=data.validated_data.get("params") or {},
            reason=data.validated_data["reason"],
            incident=_incident(data.validated_data.get("incident")),
        )
        return Response(
            s.ChangeRequestSerializer(self._get(str(change_request.pk))).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={200: s.ChangeRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        services.change_request_approve(change_request=self._get(pk), actor=_actor(request))
        return Response(s.ChangeRequestSerializer(self._get(pk)).data)

    @extend_schema(request=s.RejectInput, responses={200: s.ChangeRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        data = s.RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.change_request_reject(
            change_request=self._get(pk),
            actor=_actor(request),
            reason=data.validated_data["reason"],
        )
        return Response(s.ChangeRequestSerializer(self._get(pk)).data)


class TemplateVersionViewSet(ApiViewSet):
    """Template versions with the number of open deals running on each."""

    action_permissions = {"list": PilotPerm.VIEW_TEMPLATE_VERSION}
    serializer_class = s.TemplateVersionSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[TemplateVersion]:
        return selectors.template_version_list()

    def list(self, request: Request) -> Response:
        context = {"open_deals": selectors.open_deal_counts()}
        rows = s.TemplateVersionSerializer(self.get_queryset(), many=True, context=context)
        return Response(rows.data)


class RollbackViewSet(ApiViewSet):
    """Rollback records: config rollbacks (automatic) and code rollbacks (recorded here)."""

    action_permissions = {"list": PilotPerm.VIEW_ROLLBACK, "create": PilotPerm.ADD_ROLLBACK}
    serializer_class = s.RollbackSerializer

    def get_queryset(self) -> QuerySet[RollbackRecord]:
        return selectors.rollback_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.RollbackSerializer(page, many=True).data)

    @extend_schema(request=s.RollbackInput, responses={201: s.RollbackSerializer})
    def create(self, request: Request) -> Response:
        data = s.RollbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        verified_by = None
        if v.get("verified_by"):
            verified_by = User.objects.filter(username=v["verified_by"]).first()
            if verified_by is None:
                message = _("No user %(u)r.") % {"u": v["verified_by"]}
                raise DomainError(message, fields={"verified_by": [message]})
        record = services.rollback_record_code(
            actor=_actor(request),
            from_commit=v["from_commit"],
            to_commit=v["to_commit"],
            reason=v["reason"],
            what_reverted=v["what_reverted"],
            impact_on_deals=v["impact_on_deals"],
            incident=_incident(v.get("incident")),
            verified_by=verified_by,
            steps_done=v.get("steps_done") or [],
        )
        return Response(s.RollbackSerializer(record).data, status=status.HTTP_201_CREATED)


class WebhookSubscriptionViewSet(ApiViewSet):
    """Webhook subscriptions (decision owner): list, create (the signing secret is in the
    answer once), delete. Created, changed and deleted by pilot.services, as in the admin.

    Listing needs the change permission, not just view: a receiver's URL is often itself a
    credential (chat webhook URLs carry their token)."""

    action_permissions = {
        "list": PilotPerm.CHANGE_WEBHOOK,
        "retrieve": PilotPerm.CHANGE_WEBHOOK,
        "create": PilotPerm.ADD_WEBHOOK,
        "destroy": PilotPerm.DELETE_WEBHOOK,
    }
    serializer_class = s.WebhookSubscriptionSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return selectors.webhook_subscription_list()

    def _get(self, pk: str) -> WebhookSubscription:
        found = self.get_queryset().filter(pk=int(pk)).first()
        if found is None:
            raise NotFound(_("No such webhook subscription."))
        return found

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.WebhookSubscriptionSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.WebhookSubscriptionSerializer(self._get(pk)).data)

    @extend_schema(
        request=s.WebhookSubscriptionInput, responses={201: s.WebhookSubscriptionCreatedSerializer}
    )
    def create(self, request: Request) -> Response:
        data = s.WebhookSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        secret = new_secret()
        subscription = services.webhook_subscription_create(
            actor=_actor(request),
            name=v["name"],
            url=v["url"],
            secret=secret,
            active=v["active"],
            events=v.get("events"),
            description=v.get("description", ""),
        )
        body = dict(s.WebhookSubscriptionSerializer(subscription).data)
        body["secret"] = secret
        response = Response(body, status=status.HTTP_201_CREATED)
        response.idempotency_redact = ("secret",)  # type: ignore[attr-defined]  # never stored
        return response

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.webhook_subscription_delete(actor=_actor(request), subscription=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
