"""Opening incidents (gap-free numbers, dedup), the checklist and the timeline: the contract used
by the pilot and ledger-audit apps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit_chain
from core.errors import Conflict, DomainError
from incidents.enums import BoundAction, Category, Severity, Source, Status, TimelineKind
from incidents.models import (
    ACTIVE_Q,
    ChecklistStep,
    Incident,
    IncidentCounter,
    Playbook,
    PlaybookStep,
    SeverityPolicy,
    TimelineEntry,
)
from incidents.permissions import IncidentPerm
from incidents.services._common import actor_label, lock, require, required_text
from incidents.services.sla import sla_clock_start

COUNTER_PK = 1


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
    audit_chain.link_append(entry, event=kind)  # tamper-evident trail (issue 9)
    return entry


def _lock_counter() -> IncidentCounter:
    """Lock the counter row; held until the caller's transaction ends, so numbers are taken one
    at a time and a rolled-back opening gives its number back (gap-free and unique).

    The row is created on first use (``ignore_conflicts`` makes concurrent first users safe)."""
    counter = IncidentCounter.objects.select_for_update().filter(pk=COUNTER_PK).first()
    if counter is None:
        IncidentCounter.objects.bulk_create(
            [IncidentCounter(pk=COUNTER_PK, last_number=0)], ignore_conflicts=True
        )
        counter = IncidentCounter.objects.select_for_update().get(pk=COUNTER_PK)
    return counter


def _take_number(counter: IncidentCounter) -> int:
    """The next number under the counter lock; never behind the numbers already stored."""
    highest = Incident.objects.aggregate(m=Max("number"))["m"] or 0
    number = max(counter.last_number, highest) + 1
    counter.last_number = number
    counter.save(update_fields=["last_number"])
    return number


def _playbook_steps(playbook: Playbook) -> list[PlaybookStep]:
    return list(PlaybookStep.objects.filter(playbook=playbook).order_by("position"))


def _append_playbook(incident: Incident, playbook: Playbook) -> list[ChecklistStep]:
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
        for i, step in enumerate(_playbook_steps(playbook), start=1)
    ]
    return ChecklistStep.objects.bulk_create(steps)


def immediate_playbook(severity: str) -> Playbook | None:
    policy = (
        SeverityPolicy.objects.select_related("immediate_actions").filter(severity=severity).first()
    )
    return policy.immediate_actions if policy is not None else None


def _instantiate_checklist(incident: Incident) -> None:
    """The severity's immediate actions, then the category's solution steps (runbook order)."""
    immediate = immediate_playbook(incident.severity)
    if immediate is not None:
        _append_playbook(incident, immediate)
    solution = Playbook.objects.filter(kind="solution", category=incident.category).first()
    if solution is not None:
        _append_playbook(incident, solution)


def _clean_deals(affected_deals: Sequence[str]) -> list[str]:
    if isinstance(affected_deals, str):
        raise DomainError(
            _("affected_deals must be a list of deal ids."),
            fields={"affected_deals": [_("A list is required.")]},
        )
    seen: dict[str, None] = {}
    for deal in affected_deals:
        text = str(deal).strip()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _attach(existing: Incident, deals: list[str], actor: User | None, label: str) -> Incident:
    incident = lock(existing)
    new = [d for d in deals if d not in incident.affected_deals]
    if new:
        incident.affected_deals = [*incident.affected_deals, *new]
        incident.save(update_fields=["affected_deals"])
        timeline_record(
            incident=incident,
            kind=TimelineKind.ATTACHED,
            actor=actor,
            actor_label_text=label,
            message=_("Repeat alert attached %(n)d new affected deal(s): %(deals)s")
            % {"n": len(new), "deals": ", ".join(new)},
            data={"added_deals": new},
        )
    return incident


@transaction.atomic
def incident_open_or_attach(
    *,
    title: str,
    severity: str,
    category: str,
    actor: User | None,
    source: str,
    description: str = "",
    impact: str = "",
    affected_deals: Sequence[str] = (),
    dedup_key: str = "",
) -> tuple[Incident, bool]:
    """Like ``incident_open``; also says whether a new incident was created (False: attached)."""
    require(actor, IncidentPerm.ADD, _("You may not open incidents."))
    title = required_text(title, "title", _("An incident needs a title."))
    errors: dict[str, object] = {}
    if severity not in Severity.values:
        errors["severity"] = [_("Choose one of %s.") % ", ".join(Severity.values)]
    if category not in Category.values:
        errors["category"] = [_("Choose one of %s.") % ", ".join(Category.values)]
    if source not in Source.values:
        errors["source"] = [_("Choose one of %s.") % ", ".join(Source.values)]
    if errors:
        raise DomainError(_("The incident is not valid."), fields=errors)
    deals = _clean_deals(affected_deals)
    dedup_key = (dedup_key or "").strip()
    label = actor_label(actor, fallback=str(Source(source).label))

    counter = _lock_counter()  # serialises openings: the dedup check below cannot race
    if dedup_key:
        existing = Incident.objects.filter(ACTIVE_Q, dedup_key=dedup_key).first()
        if existing is not None:
            return _attach(existing, deals, actor, label), False
    number = _take_number(counter)
    now = timezone.now()

    incident = Incident.objects.create(
        number=number,
        title=title,
        severity=severity,
        category=category,
        status=Status.OPEN,
        source=source,
        description=description.strip(),
        impact=impact.strip(),
        affected_deals=deals,
        dedup_key=dedup_key,
        reported_by=actor,
        opened_at=now,
        severity_set_at=now,
    )
    _instantiate_checklist(incident)
    timeline_record(
        incident=incident,
        kind=TimelineKind.OPENED,
        actor=actor,
        actor_label_text=label,
        message=_("Opened as %(sev)s (%(cat)s) by %(who)s.")
        % {"sev": severity, "cat": Category(category).label, "who": label},
        data={
            "severity": severity,
            "category": category,
            "source": source,
            "affected_deals": deals,
        },
    )
    sla_clock_start(incident=incident)  # deadlines, timers, and whom to tell at once
    return incident, True


def incident_open(
    *,
    title: str,
    severity: str,
    category: str,
    actor: User | None,
    source: str,
    description: str = "",
    impact: str = "",
    affected_deals: Sequence[str] = (),
    dedup_key: str = "",
) -> Incident:
    """Open an incident (gap-free number, checklist, "opened" timeline row).

    With a non-empty ``dedup_key`` matching an incident that is not resolved/closed, nothing is
    opened: new affected deals are merged into that incident ("attached" row) and it is returned.
    Raises NotAllowed unless ``actor`` is None (system/detector) or may add incidents."""
    incident, _created = incident_open_or_attach(
        title=title,
        severity=severity,
        category=category,
        actor=actor,
        source=source,
        description=description,
        impact=impact,
        affected_deals=affected_deals,
        dedup_key=dedup_key,
    )
    return incident


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
    is returned; None when there is no open such step, so a second call ticks nothing. Closed
    incidents are left as they are. No permission check: the caller's service already checked."""
    if action not in BoundAction.values:
        raise DomainError(f"Unknown bound action {action!r}.")
    locked = lock(incident)
    if locked.status == Status.CLOSED:
        return None
    steps = list(
        ChecklistStep.objects.select_for_update()
        .filter(incident=locked, bound_action=action, done=False)
        .order_by("position")
    )
    now = timezone.now()
    note = note.strip()
    for step in steps:
        step.done = True
        step.done_by = actor
        step.done_at = now
        if note:
            step.note = f"{step.note}\n{note}".strip()
        step.save(update_fields=["done", "done_by", "done_at", "note"])
        timeline_record(
            incident=locked,
            kind=TimelineKind.STEP_TICKED,
            actor=actor,
            message=_("Step %(pos)d “%(title)s” done: %(action)s.")
            % {"pos": step.position, "title": step.title, "action": BoundAction(action).label}
            + (f" {note}" if note else ""),
            data={"step": step.pk, "position": step.position, "action": action, **(data or {})},
        )
    return steps[0] if steps else None


@transaction.atomic
def incident_add_playbook(
    *, incident: Incident, playbook: Playbook, actor: User | None
) -> list[ChecklistStep]:
    """Append a playbook's steps (e.g. the rollback strategy) to the checklist; once only."""
    require(actor, IncidentPerm.TICK, _("You may not change this incident's checklist."))
    locked = lock(incident)
    existing = list(
        ChecklistStep.objects.filter(incident=locked, playbook=playbook).order_by("position")
    )
    if existing:
        return existing
    if locked.status == Status.CLOSED:
        raise Conflict(_("%(label)s is closed.") % {"label": locked.label})
    steps = _append_playbook(locked, playbook)
    timeline_record(
        incident=locked,
        kind=TimelineKind.PLAYBOOK_ADDED,
        actor=actor,
        message=_("Playbook “%(title)s” added to the checklist (%(n)d steps).")
        % {"title": playbook.title, "n": len(steps)},
        data={"playbook": playbook.slug},
    )
    return steps
