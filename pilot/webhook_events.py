"""The events a webhook subscription may ask for, and how its filter matches them.

A subscription stores a list of event names or patterns (``incident.*``, ``*``); an event is
delivered to it when one of them matches. Only names listed here may be stored, so a typo is a
refusal when the subscription is saved rather than a receiver that silently never hears anything.

What is delivered to subscriptions today is ``pilot.config`` (every applied config revision;
its ``X-Webhook-Event`` header says ``pilot.config_changed``, which receivers already rely on)
and ``audit.checkpoint`` (each new published head of the audit chain). The other names are
reserved for what may be sent to subscriptions later (incident notifications
go to the roster's webhook endpoints today); storing them now means a subscription made today
keeps its meaning when they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PILOT_CONFIG = "pilot.config"
AUDIT_CHECKPOINT = "audit.checkpoint"

EVENTS: dict[str, str] = {
    PILOT_CONFIG: "every applied config revision of the pilot",
    AUDIT_CHECKPOINT: "the audit chain's published head (sequence and hash)",
    "incident.opened": "an incident was opened",
    "incident.escalated": "an incident was escalated to a higher level",
    "incident.unacknowledged": "an incident was not acknowledged by its response deadline",
}
DEFAULT_EVENTS = (PILOT_CONFIG,)
MAX_EVENTS = 20


def default_events() -> list[str]:
    """What a subscription without a filter receives: what subscriptions always received."""
    return list(DEFAULT_EVENTS)


def families() -> set[str]:
    return {name.split(".", 1)[0] for name in EVENTS}


def known_filters() -> list[str]:
    """Every value a subscription's event list may hold."""
    return ["*", *sorted(f"{family}.*" for family in families()), *sorted(EVENTS)]


def matches(pattern: str, event: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event.startswith(pattern[:-1])
    return pattern == event


def wants(filters: Iterable[str], event: str) -> bool:
    """True when a subscription with these ``filters`` should receive ``event``."""
    return any(matches(pattern, event) for pattern in filters)


def validate_events(value: object) -> None:
    """The model validator (``full_clean``): a non-empty list of known names or patterns."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_('A list of event names, e.g. ["pilot.config"].'), code="type")
    if not value:
        raise ValidationError(_("Name at least one event."), code="empty")
    if len(value) > MAX_EVENTS:
        raise ValidationError(_("At most %(n)d events.") % {"n": MAX_EVENTS}, code="too_many")
    allowed = set(known_filters())
    unknown = sorted({v for v in value if v not in allowed})
    if unknown:
        raise ValidationError(
            _("Unknown events: %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(known_filters())},
            code="unknown",
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("An event is listed twice."), code="duplicate")
