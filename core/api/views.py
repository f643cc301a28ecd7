from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView, ApiViewSet
from core.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MeSerializer,
    RevokeSerializer,
)
from core.models import ApiKey
from core.permissions import AUTHENTICATED, CorePerm
from core.roles import Role
from core.selectors import api_key_list
from core.services import (
    api_key_create,
    api_key_revoke,
    user_level,
    user_roles,
)


class MeView(ApiView):
    """Who the caller is: roles, escalation level and permissions."""

    action_permissions = {"get": AUTHENTICATED}

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "roles": [str(r) for r in user_roles(user)],
            "level": user_level(user),
            "permissions": sorted(user.get_all_permissions()),
            "auth": "api_key" if isinstance(request.auth, ApiKey) else "session",
        }
        return Response(MeSerializer(data).data)


class ApiKeyViewSet(ApiViewSet):
    """API keys: list, create (the key is in the response once), revoke. A person creates keys
    for themselves or for a role's service account (``role``), never for another person."""

    serializer_class = ApiKeySerializer
    lookup_value_regex = r"\d+"
    action_permissions = {
        "list": CorePerm.VIEW_APIKEY,
        "retrieve": CorePerm.VIEW_APIKEY,
        "create": CorePerm.ADD_APIKEY,
        "revoke": CorePerm.REVOKE_APIKEY,
    }

    def get_queryset(self) -> Any:
        return api_key_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ApiKeySerializer(self.get_object()).data)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        incoming = ApiKeyCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        issued = api_key_create(
            name=data["name"],
            user=data.get("user_obj"),
            role=Role(data["role"]) if data.get("role") else None,
            created_by=request.user,
            expires_at=data.get("expires_at"),
            via="api",
        )
        body = ApiKeySerializer(issued.api_key).data
        body["key"] = issued.raw
        response = Response(body, status=status.HTTP_201_CREATED)
        response.idempotency_redact = ("key",)  # type: ignore[attr-defined]  # never stored
        return response

    @extend_schema(request=RevokeSerializer, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        incoming = RevokeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        key = api_key_revoke(
            api_key=self.get_object(),
            actor=request.user,
            reason=incoming.validated_data["reason"],
        )
        return Response(ApiKeySerializer(key).data)
