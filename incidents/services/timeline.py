"""The bottom of the incident services: the timeline and the checklist primitives every other
service (and the pilot and ledger-audit apps, through ``incidents.services``) writes with.

A step is ticked in one place (``_tick``), whether a person ticks it or a bound act happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import AuditEventType, record
from core.errors import DomainError, NotFound
from incidents.enums import BoundAction, TimelineKind
from incidents.models import ChecklistStep, Incident, Playbook, SeverityPolicy, TimelineEntry
from incidents.services._common import actor_label, lock
from incidents.transitions import (
    IncidentAction,
    incident_runbook_live,
    transition_guard,
    transition_require,
)


def timeline_record(
    *,
    incident: Incident,
    kind: str,
    actor: User | None,
    message: str,
    data: dict[str, Any] | None = None,
    actor_label_text: str = "",
) -> TimelineEntry:
    """Append one row to the incident's timeline (rows are never updated or deleted)."""
    if kind not in TimelineKind.values:
        raise DomainError(f"Unknown timeline kind {kind!r}.")
    entry = TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        actor_label=actor_label_text or actor_label(actor),
        message=message,
        data=data or {},
    )
    # The incident's story is sealed like every audited row: its own event, on the chain.
    record(
        event=AuditEventType.INCIDENT_TIMELINE,
        actor=actor,
        target=entry,
        data={"incident": incident.number, "kind": kind},
    )
    return entry


def checklist_append_playbook(incident: Incident, playbook: Playbook) -> list[ChecklistStep]:
    """Append the playbook's steps to the incident's checklist (after the existing ones)."""
    last = ChecklistStep.objects.filter(incident=incident).aggregate(m=Max("position"))["m"] or 0
    steps = [
        ChecklistStep(
            incident=incident,
            position=last + i,
            section=playbook.title,
            title=step.title,
            detail=step.detail,
            bound_action=step.bound_action,
            playbook=playbook,
        )
        for i, step in enumerate(playbook.steps.order_by("position"), start=1)
    ]
    return ChecklistStep.objects.bulk_create(steps)


def immediate_playbook(severity: str) -> Playbook | None:
    policy = (
        SeverityPolicy.objects.select_related("immediate_actions").filter(severity=severity).first()
    )
    return policy.immediate_actions if policy is not None else None


def _tick(
    *,
    incident: Incident,
    step: ChecklistStep,
    actor: User | None,
    note: str,
    message: str,
    data: dict[str, Any],
    at: datetime | None = None,
) -> ChecklistStep:
    """Mark one (locked, open) step done and say so on the timeline."""
    step.done = True
    step.done_by = actor
    step.done_at = at or timezone.now()
    if note:
        step.note = f"{step.note}\n{note}".strip()
    step.save(update_fields=["done", "done_by", "done_at", "note"])
    timeline_record(
        incident=incident,
        kind=TimelineKind.STEP_TICKED,
        actor=actor,
        message=_("Step %(pos)d “%(title)s” done") % {"pos": step.position, "title": step.title}
        + message
        + (f" {note}" if note else ""),
        data={"step": step.pk, "position": step.position, **data},
    )
    return step


@transaction.atomic
def checklist_step_tick(
    *, incident: Incident, step_id: int, actor: User | None, note: str = ""
) -> ChecklistStep:
    """A person ticks a step by hand."""
    transition_require(actor=actor, action=IncidentAction.TICK)
    locked = lock(incident)
    step = ChecklistStep.objects.select_for_update().filter(incident=locked, pk=step_id).first()
    if step is None:
        raise NotFound(
            _("%(label)s has no checklist step %(id)s.") % {"label": locked.label, "id": step_id}
        )
    if step.done:
        return step
    transition_guard(incident=locked, action=IncidentAction.TICK, actor=actor)
    return _tick(incident=locked, step=step, actor=actor, note=note.strip(), message=".", data={})


@transaction.atomic
def incident_bound_action_done(
    *,
    incident: Incident,
    action: str,
    actor: User | None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> ChecklistStep | None:
    """A bound act happened: tick the incident's open checklist steps bound to ``action``.

    Every open step bound to the action is ticked (a SEV0 duplicate-ledger incident has
    "Disable New Pilot Deals" and "Disable pilot (SEV0)": one act, both done) and the first one
    is returned; None when there is no open such step, so a second call ticks nothing. Once the
    runbook is over (closed) the checklist is left as it is. No permission check: the caller's
    service already checked."""
    if action not in BoundAction.values:
        raise DomainError(f"Unknown bound action {action!r}.")
    locked = lock(incident)
    if not incident_runbook_live(locked):
        return None
    steps = list(
        ChecklistStep.objects.select_for_update()
        .filter(incident=locked, bound_action=action, done=False)
        .order_by("position")
    )
    now = timezone.now()
    label = BoundAction(action).label
    for step in steps:
        _tick(
            incident=locked,
            step=step,
            actor=actor,
            note=note.strip(),
            message=_(": %(action)s.") % {"action": label},
            data={"action": action, **(data or {})},
            at=now,
        )
    return steps[0] if steps else None


# The incident log's parts that SEV0 step 5's sub-items are about.
INCIDENT_LOG_FIELDS = ("description", "impact")
POSTMORTEM_FIELDS = ("root_cause", "resolution", "prevention", "lessons_learned")


def incident_log_steps_tick(*, incident: Incident, actor: User | None) -> None:
    """The incident log was written: "Document incident in incident log" is done once the
    description and impact both are, "Prepare post-mortem" once every post-mortem field is.
    Called wherever those fields are written (opening, editing the log, resolving)."""
    for action, fields in (
        (BoundAction.DOCUMENT_INCIDENT, INCIDENT_LOG_FIELDS),
        (BoundAction.PREPARE_POSTMORTEM, POSTMORTEM_FIELDS),
    ):
        if all(str(getattr(incident, f) or "").strip() for f in fields):
            incident_bound_action_done(
                incident=incident,
                action=action,
                actor=actor,
                data={"fields": list(fields)},
            )
