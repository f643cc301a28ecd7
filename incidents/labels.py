"""How people and machine sources are named in the timeline and the incident log."""

from __future__ import annotations

from django.contrib.auth.models import User

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
