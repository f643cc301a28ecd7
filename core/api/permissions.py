"""The DRF permission class every API view uses.

Each API view declares ``action_permissions``: a map from its action (a viewset action such as
``list`` or ``acknowledge``, or the lower-case HTTP method of a plain view) to the permission it
needs, or to ``AUTHENTICATED`` for any signed-in client. An action missing from the map is refused,
so a new endpoint cannot ship without saying who may call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.permissions import AUTHENTICATED

if TYPE_CHECKING:
    from rest_framework.views import APIView


def view_action(view: APIView, request: Request) -> str:
    action = getattr(view, "action", None)
    return str(action) if action else (request.method or "").lower()


def required_permission(view: APIView, request: Request) -> str | None:
    """The permission the current action needs; None when the view declares no entry for it."""
    mapping: dict[str, str] = getattr(view, "action_permissions", {}) or {}
    return mapping.get(view_action(view, request))


class ActionPermission(BasePermission):
    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user: Any = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        needed = required_permission(view, request)
        if needed is None:
            return False
        if needed == AUTHENTICATED:
            return True
        return bool(user.has_perm(needed))
