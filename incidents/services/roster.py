"""Edits of the SLA configuration — escalation levels and rules (decision owner), roster,
on-call shifts and extra holidays (pilot coordinator), webhook endpoints (decision owner) — each
audited in the same transaction; and the weekly on-call rotation generator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from core.audit import AuditEventType, Deleted, audit_value, record
from core.errors import DomainError
from core.services import require_perm
from core.text import one_line_field
from incidents.models import (
    BusinessHoliday,
    EscalationLevel,
    EscalationRule,
    OnCallShift,
    RosterMember,
    WebhookEndpoint,
)


def _perm(model: type[models.Model], verb: str) -> str:
    return f"incidents.{verb}_{model._meta.model_name}"


# Who edits what: the policy and the endpoints (secrets) are the decision owner's; the roster,
# shifts and extra holidays the pilot coordinator's (granted in core/roles.py).
EDITABLE: tuple[type[models.Model], ...] = (
    EscalationLevel,
    EscalationRule,
    RosterMember,
    OnCallShift,
    BusinessHoliday,
    WebhookEndpoint,
)


# Names shown in lists, headlines and notices: one line, typed by a person, so refused.
ONE_LINE_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    EscalationLevel: ("name",),
    EscalationRule: ("name",),
    BusinessHoliday: ("name",),
    WebhookEndpoint: ("name",),
}


def _snapshot(obj: models.Model) -> dict[str, Any]:
    """Keyed by field name, relations by the related row's id (as the admin form shows them)."""
    return {k: audit_value(k, v) for k, v in model_to_dict(obj).items() if v is not None}


def _event(model: type[models.Model], verb: str) -> AuditEventType:
    return AuditEventType(f"{model._meta.model_name}.{verb}")


def _require(actor: User | None, model: type[models.Model], verb: str) -> None:
    message = _("You may not %(verb)s %(what)s.") % {
        "verb": verb,
        "what": model._meta.verbose_name_plural,
    }
    person = _("Editing the SLA configuration (escalation policy, roster, endpoints)")
    require_perm(actor, _perm(model, verb), message, system=False, person=person)


@transaction.atomic
def sla_config_save(
    *, instance: models.Model, actor: User | None, changed: Sequence[str] = (), reason: str = ""
) -> models.Model:
    """Create or change one SLA configuration row (validated), audited with before/after."""
    model = type(instance)
    if model not in EDITABLE:
        raise DomainError(f"{model.__name__} is not SLA configuration.")
    creating = instance.pk is None or not model._default_manager.filter(pk=instance.pk).exists()
    _require(actor, model, "add" if creating else "change")
    before = {} if creating else _snapshot(model._default_manager.get(pk=instance.pk))
    if isinstance(instance, OnCallShift):
        instance.level_id = instance.member.level_id  # a shift covers its member's level
    for name in ONE_LINE_FIELDS.get(model, ()):
        setattr(instance, name, one_line_field(getattr(instance, name), field=name))
    instance.full_clean()
    instance.save()
    after = _snapshot(instance)
    fields = list(changed) or sorted(k for k in after if before.get(k) != after.get(k))
    record(
        event=_event(model, "create" if creating else "change"),
        actor=actor,
        target=instance,
        before={k: before.get(k) for k in fields},
        after={k: after.get(k) for k in fields},
        reason=reason,
    )
    return instance


@transaction.atomic
def sla_config_delete(*, instance: models.Model, actor: User | None, reason: str = "") -> None:
    model = type(instance)
    if model not in EDITABLE:
        raise DomainError(f"{model.__name__} is not SLA configuration.")
    _require(actor, model, "delete")
    before = _snapshot(instance)
    # What the delete does to other audited rows (CASCADE, SET_NULL) is recorded too, so the
    # chain never reports a legitimate deletion as tampering.
    shifts: list[OnCallShift] = []
    members: list[RosterMember] = []
    if isinstance(instance, RosterMember):
        shifts = list(OnCallShift.objects.filter(member=instance))
    if isinstance(instance, WebhookEndpoint):
        members = list(RosterMember.objects.filter(webhook=instance))
    gone = Deleted.of(instance)
    instance.delete()
    for shift in shifts:
        record(
            event=AuditEventType.ONCALL_SHIFT_DELETE,
            actor=actor,
            target=Deleted.of(shift),
            before=_snapshot(shift),
            reason=reason,
            data={"with": f"rostermember {gone.pk}"},
        )
    for member in members:
        member.refresh_from_db()
        record(
            event=AuditEventType.ROSTER_MEMBER_CHANGE,
            actor=actor,
            target=member,
            before={"webhook": int(gone.pk)},
            after={"webhook": None},
            reason=reason,
            data={"with": f"webhookendpoint {gone.pk}"},
        )
    record(event=_event(model, "delete"), actor=actor, target=gone, before=before, reason=reason)


@transaction.atomic
def oncall_rotation_generate(
    *,
    level: int,
    members: Sequence[RosterMember],
    starts_at: datetime,
    weeks: int,
    actor: User | None,
) -> list[OnCallShift]:
    """A weekly rotation for ``level``: week *i* from ``starts_at`` is covered by
    ``members[i % len(members)]``. Weeks already covered by a shift of that member are kept."""
    _require(actor, OnCallShift, "add")
    if not members:
        raise DomainError(_("A rotation needs at least one member."))
    if not 1 <= weeks <= 104:
        raise DomainError(_("Generate 1 to 104 weeks."), fields={"weeks": [_("1 to 104.")]})
    wrong = [m for m in members if m.level_id != level]
    if wrong:
        raise DomainError(
            _("%(who)s is not on level %(level)d.") % {"who": wrong[0], "level": level}
        )
    shifts: list[OnCallShift] = []
    new_shifts: list[OnCallShift] = []
    for week in range(weeks):
        member = members[week % len(members)]
        start = starts_at + timedelta(weeks=week)
        end = start + timedelta(weeks=1)
        shift, created = OnCallShift.objects.get_or_create(
            member=member, level_id=level, starts_at=start, defaults={"ends_at": end}
        )
        shifts.append(shift)
        if created:
            new_shifts.append(shift)
    # Recorded after the inserts: the chain lock is the last thing a step takes.
    for shift in new_shifts:
        record(
            event=AuditEventType.ONCALL_SHIFT_CREATE,
            actor=actor,
            target=shift,
            after=_snapshot(shift),
            data={"rotation": True},
        )
    record(
        event=AuditEventType.ONCALL_ROTATION_GENERATE,
        actor=actor,
        target=EscalationLevel.objects.get(pk=level),
        data={
            "level": level,
            "members": [m.pk for m in members],
            "starts_at": starts_at.isoformat(),
            "weeks": weeks,
        },
    )
    return shifts
