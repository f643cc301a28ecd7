"""The one audit sink: ``record`` writes every audited change of every app.

A call writes one ``AuditEvent`` row (what happened, who, to which row, before/after, why) and,
in the same transaction and as the last write of the step, its links on the hash chain
(``core.audit_chain``): one sealing the event row itself, so an SQL edit of any event is
detected, and one sealing the target row as it now stands when the target is an audited domain
row (``audit_chain.AUDITED``), so an SQL edit of the target is detected too. ``verify_audit``
checks all of it. Services call ``record``; nothing else writes events or links.

The rule for the two trails:

* ``AuditEvent`` is the system's record of who changed what — API keys, members, policies, the
  roster, the pilot's config, change requests and catalog, exports — for auditors. Every audited
  write makes exactly one, named by an ``AuditEventType``.
* The incident timeline is the incident's own story (``incidents.TimelineEntry``: what happened
  to this incident, in words, for the people working it and for the incident log). It is not a
  second sink: every entry is written with ``record(event=INCIDENT_TIMELINE, target=entry)``, so
  each entry has its event and is sealed on the chain like any audited row. A write that concerns
  an incident *and* is audited in its own right (a config revision, an export) records its own
  event and also tells the incident's story on the timeline.

Event names are stable strings (auditors and tests search them), so existing names were kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils.translation import gettext as _

from core.audit_chain import AUDITED as _SEALED
from core.audit_chain import Deleted, chain_append
from core.errors import DomainError
from core.models import AuditEvent

Actor = User | AnonymousUser | None

__all__ = [
    "Actor",
    "AuditEventType",
    "Deleted",
    "actor_or_none",
    "audit_value",
    "field_changes",
    "record",
    "snapshot",
]


class AuditEventType(StrEnum):
    # access platform
    MEMBER_CREATE = "member.create"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    # incidents: the timeline, the runbook's policies, the SLA configuration and roster
    INCIDENT_TIMELINE = "incident.timeline"
    SEVERITY_POLICY_UPDATE = "severity_policy.update"
    PLAYBOOK_UPDATE = "playbook.update"
    PLAYBOOK_STEP_CREATE = "playbook_step.create"
    PLAYBOOK_STEP_UPDATE = "playbook_step.update"
    PLAYBOOK_STEP_DELETE = "playbook_step.delete"
    ESCALATION_LEVEL_CREATE = "escalationlevel.create"
    ESCALATION_LEVEL_CHANGE = "escalationlevel.change"
    ESCALATION_LEVEL_DELETE = "escalationlevel.delete"
    ESCALATION_RULE_CREATE = "escalationrule.create"
    ESCALATION_RULE_CHANGE = "escalationrule.change"
    ESCALATION_RULE_DELETE = "escalationrule.delete"
    ROSTER_MEMBER_CREATE = "rostermember.create"
    ROSTER_MEMBER_CHANGE = "rostermember.change"
    ROSTER_MEMBER_DELETE = "rostermember.delete"
    ONCALL_SHIFT_CREATE = "oncallshift.create"
    ONCALL_SHIFT_CHANGE = "oncallshift.change"
    ONCALL_SHIFT_DELETE = "oncallshift.delete"
    ONCALL_ROTATION_GENERATE = "oncallshift.rotation_generate"
    BUSINESS_HOLIDAY_CREATE = "businessholiday.create"
    BUSINESS_HOLIDAY_CHANGE = "businessholiday.change"
    BUSINESS_HOLIDAY_DELETE = "businessholiday.delete"
    WEBHOOK_ENDPOINT_CREATE = "webhookendpoint.create"
    WEBHOOK_ENDPOINT_CHANGE = "webhookendpoint.change"
    WEBHOOK_ENDPOINT_DELETE = "webhookendpoint.delete"
    # pilot
    PILOT_REVISION_CREATE = "pilot.revision.create"
    PILOT_CHANGE_REQUEST_PENDING = "pilot.change_request.pending"
    PILOT_CHANGE_REQUEST_APPLIED = "pilot.change_request.applied"
    PILOT_CHANGE_REQUEST_REJECTED = "pilot.change_request.rejected"
    PILOT_CHANGE_REQUEST_STALE = "pilot.change_request.stale"
    PILOT_TEMPLATE_VERSION_CREATE = "pilot.template_version.create"
    PILOT_TEMPLATE_VERSION_UPDATE = "pilot.template_version.update"
    PILOT_FEATURE_FLAG_CREATE = "pilot.feature_flag.create"
    PILOT_FEATURE_FLAG_UPDATE = "pilot.feature_flag.update"
    PILOT_WEBHOOK_SUBSCRIPTION_CREATE = "pilot.webhook_subscription.create"
    PILOT_WEBHOOK_SUBSCRIPTION_UPDATE = "pilot.webhook_subscription.update"
    PILOT_WEBHOOK_SUBSCRIPTION_DELETE = "pilot.webhook_subscription.delete"
    # ledger audit: timeline exports
    EXPORT_REQUESTED = "export.requested"
    EXPORT_DONE = "export.done"
    EXPORT_DOWNLOAD = "export.download"


def actor_or_none(actor: Actor) -> User | None:
    """The person to store: an anonymous or absent actor is the system (``None``)."""
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def record(
    *,
    event: AuditEventType,
    actor: Actor,
    target: models.Model | Deleted,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record one audited change in the caller's transaction (the last write of the step: it
    takes the chain lock). ``target`` is the saved row, or ``Deleted.of(row)`` captured before a
    deletion. ``before``/``after`` are JSON-ready values of the fields that changed; ``data``
    adds context (stored beside them)."""
    if isinstance(target, Deleted):
        label, target_id = target.label, target.pk
    else:
        if target.pk is None:
            raise ValueError("record() needs a saved target (or Deleted.of(target))")
        label, target_id = target._meta.label_lower, str(target.pk)
    payload: dict[str, Any] = dict(data or {})
    if before is not None:
        payload["before"] = dict(before)
    if after is not None:
        payload["after"] = dict(after)
    with transaction.atomic(savepoint=False):
        audit_event = AuditEvent.objects.create(
            actor=actor_or_none(actor),
            action=AuditEventType(event).value,
            target_type=label,
            target_id=target_id,
            reason=reason,
            data=payload,
        )
        sealed: list[models.Model | Deleted] = [audit_event]
        if label in _SEALED:
            sealed.append(target)
        chain_append(sealed, event=audit_event.action)
    return audit_event


# --- what an event stores of a row ----------------------------------------------------------

# Fields whose value an audit event never stores (signing secrets): it says they changed.
SECRET_FIELDS = frozenset({"secret"})
HIDDEN = "***"


def audit_value(name: str, value: Any) -> Any:
    """A field's value as an event stores it: JSON values as they are, others as text, secrets
    never."""
    if name in SECRET_FIELDS:
        return HIDDEN
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def snapshot(obj: models.Model, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The row's audited values (every concrete field when ``fields`` is None; empty ones left
    out)."""
    names = fields or tuple(f.attname for f in obj._meta.concrete_fields if not f.primary_key)
    values = {name: audit_value(name, getattr(obj, name)) for name in names}
    return values if fields else {k: v for k, v in values.items() if v is not None}


def field_changes(
    obj: models.Model, changes: Mapping[str, Any], allowed: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set on ``obj`` the fields of ``changes`` whose value differs (all must be ``allowed``)
    and return (before, after) of those, as events store them. Saving is the caller's."""
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise DomainError(
            _("These fields cannot be changed: %s.") % ", ".join(unknown),
            fields={f: [_("Not editable.")] for f in unknown},
        )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        current = getattr(obj, name)
        if current != value:
            before[name] = audit_value(name, current)
            after[name] = audit_value(name, value)
            setattr(obj, name, value)
    return before, after
