"""Helpers shared by the incident services (not part of the public interface)."""

from __future__ import annotations

from core.errors import DomainError
from core.services import require_perm
from incidents.labels import actor_label
from incidents.models import Incident

__all__ = ["actor_label", "lock", "require", "required_text"]


# The incident services' permission guard is the project's one (``None``, the system, passes).
require = require_perm


def required_text(value: str, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(message, fields={field: [message]})
    return text


def lock(incident: Incident) -> Incident:
    """Re-read the incident with a row lock (transitions race)."""
    return Incident.objects.select_for_update().get(pk=incident.pk)
