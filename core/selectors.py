"""Reads of the access platform."""

from django.db.models import QuerySet

from core.models import ApiKey


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("user", "created_by", "revoked_by").order_by("-id")
