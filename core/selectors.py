"""Reads of the access platform."""

from typing import Any

from django.db.models import QuerySet

from core.models import ApiKey, ServiceAccount

# Where is_service_account memoises its answer on the user object (one query per request).
_MEMO = "_pcp_is_service_account"


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("user", "created_by", "revoked_by").order_by("-id")


def is_service_account(user: Any) -> bool:
    """Whether ``user`` is a machine account (a ``core.ServiceAccount`` row marks it): the one
    way the project tells a machine from a person."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return False
    memo = getattr(user, _MEMO, None)
    if memo is None:
        memo = ServiceAccount.objects.filter(user_id=user.pk).exists()
        setattr(user, _MEMO, memo)
    return bool(memo)


def is_person(user: Any) -> bool:
    """An active, signed-in account that is not a machine: who may do acts that must name a
    person, and whom four eyes compares."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and not is_service_account(user)
    )
