from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.base import ApiView
from core.api.serializers import MeSerializer
from core.models import ApiKey
from core.permissions import AUTHENTICATED
from core.services import user_level, user_roles


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
