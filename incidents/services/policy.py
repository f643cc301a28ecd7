"""Edits of the runbook data (severity policies, playbooks): decision owner only, each audited
with before/after in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import AuditEventType, Deleted, audit_value, field_changes, record, snapshot
from core.errors import DomainError
from core.services import require_perm
from incidents.models import Playbook, PlaybookStep, SeverityPolicy
from incidents.permissions import IncidentPerm

POLICY_FIELDS = (
    "name",
    "definition",
    "impact",
    "response_time",
    "response_minutes",
    "response_clock",
    "immediate_actions",
)
PLAYBOOK_FIELDS = ("title", "category", "symptom", "cause", "prevention", "notes", "position")
STEP_FIELDS = ("position", "title", "detail", "bound_action")


def _require_owner(actor: User | None, perm: IncidentPerm) -> None:
    message = _("Only the decision owner may edit the runbook's policies.")
    require_perm(actor, perm, message, system=False, person=_("Editing the runbook's policies"))


def _apply(
    obj: Any, changes: Mapping[str, Any], allowed: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    before, after = field_changes(obj, changes, allowed)
    if after:
        obj.full_clean()
        obj.save(update_fields=list(after))
    return before, after


@transaction.atomic
def severity_policy_update(
    *, policy: SeverityPolicy, actor: User | None, changes: Mapping[str, Any], reason: str = ""
) -> SeverityPolicy:
    _require_owner(actor, IncidentPerm.CHANGE_POLICY)
    locked = SeverityPolicy.objects.select_for_update().get(pk=policy.pk)
    before, after = _apply(locked, changes, POLICY_FIELDS)
    if after:
        record(
            event=AuditEventType.SEVERITY_POLICY_UPDATE,
            actor=actor,
            target=locked,
            before=before,
            after=after,
            reason=reason,
            data={"severity": locked.severity},
        )
    return locked


@transaction.atomic
def playbook_update(
    *, playbook: Playbook, actor: User | None, changes: Mapping[str, Any], reason: str = ""
) -> Playbook:
    _require_owner(actor, IncidentPerm.CHANGE_PLAYBOOK)
    locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
    before, after = _apply(locked, changes, PLAYBOOK_FIELDS)
    if after:
        record(
            event=AuditEventType.PLAYBOOK_UPDATE,
            actor=actor,
            target=locked,
            before=before,
            after=after,
            reason=reason,
            data={"playbook": locked.slug},
        )
    return locked


@transaction.atomic
def playbook_step_update(
    *, step: PlaybookStep, actor: User | None, changes: Mapping[str, Any], reason: str = ""
) -> PlaybookStep:
    _require_owner(actor, IncidentPerm.CHANGE_PLAYBOOK)
    locked = PlaybookStep.objects.select_for_update().get(pk=step.pk)
    before, after = _apply(locked, changes, STEP_FIELDS)
    if after:
        record(
            event=AuditEventType.PLAYBOOK_STEP_UPDATE,
            actor=actor,
            target=locked,
            before=before,
            after=after,
            reason=reason,
            data={"playbook_id": locked.playbook_id},
        )
    return locked


@transaction.atomic
def playbook_step_create(
    *, playbook: Playbook, actor: User | None, fields: Mapping[str, Any], reason: str = ""
) -> PlaybookStep:
    _require_owner(actor, IncidentPerm.CHANGE_PLAYBOOK)
    unknown = sorted(set(fields) - set(STEP_FIELDS))
    if unknown:
        raise DomainError(_("These fields cannot be set: %s.") % ", ".join(unknown))
    step = PlaybookStep(playbook=playbook, **fields)
    step.full_clean()
    step.save()
    record(
        event=AuditEventType.PLAYBOOK_STEP_CREATE,
        actor=actor,
        target=step,
        after={k: audit_value(k, v) for k, v in fields.items()},
        reason=reason,
        data={"playbook_id": playbook.pk},
    )
    return step


@transaction.atomic
def playbook_step_delete(*, step: PlaybookStep, actor: User | None, reason: str = "") -> None:
    _require_owner(actor, IncidentPerm.CHANGE_PLAYBOOK)
    before = snapshot(step, STEP_FIELDS)
    gone, playbook_id = Deleted.of(step), step.playbook_id
    step.delete()
    record(
        event=AuditEventType.PLAYBOOK_STEP_DELETE,
        actor=actor,
        target=gone,
        before=before,
        reason=reason,
        data={"playbook_id": playbook_id},
    )
