"""Helpers shared by the incident services (not part of the public interface)."""

from __future__ import annotations

from django.contrib.auth.models import User

from core.errors import DomainError
from core.services import require_perm
from incidents.enums import Source
from incidents.models import Incident

SYSTEM_LABEL = "system"


def actor_label(actor: User | None, *, fallback: str = SYSTEM_LABEL) -> str:
    if actor is None:
        return fallback
    return actor.get_full_name() or actor.get_username()


def reporter_label(incident: Incident) -> str:
    """Who reported the incident, for the log: the person, or the machine source."""
    if incident.reported_by is not None:
        return actor_label(incident.reported_by)
    return str(Source(incident.source).label) if incident.source else SYSTEM_LABEL


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
