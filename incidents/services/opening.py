"""Opening incidents (gap-free numbers, dedup, the checklist from the runbook) and adding a
playbook to one: with the timeline primitives, the contract used by the pilot and ledger-audit
apps."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.text import one_line_field
from incidents.enums import Category, Severity, Source, Status, TimelineKind
from incidents.models import (
    ACTIVE_Q,
    ChecklistStep,
    Incident,
    IncidentCounter,
    Playbook,
)
from incidents.permissions import IncidentPerm
from incidents.services._common import actor_label, lock, require, required_text
from incidents.services.escalation import sla_clock_start
from incidents.services.timeline import (
    checklist_append_playbook,
    immediate_playbook,
    incident_log_steps_tick,
    timeline_record,
)
from incidents.transitions import IncidentAction, transition_guard, transition_require

COUNTER_PK = 1


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


def _instantiate_checklist(incident: Incident) -> None:
    """The severity's immediate actions, then the category's solution steps (runbook order)."""
    immediate = immediate_playbook(incident.severity)
    if immediate is not None:
        checklist_append_playbook(incident, immediate)
    solution = Playbook.objects.filter(kind="solution", category=incident.category).first()
    if solution is not None:
        checklist_append_playbook(incident, solution)


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
def incident_attach(
    *, incident: Incident, actor: User | None, source: str, affected_deals: Sequence[str] = ()
) -> Incident:
    """A repeat of what opened ``incident`` (same dedup key): new affected deals merged, an
    "attached" row, without the opening counter's lock (a repeat opens nothing). The caller
    has found the incident active; it is re-read locked here."""
    require(actor, IncidentPerm.ADD, _("You may not open incidents."))
    label = actor_label(actor, fallback=str(Source(source).label))
    return _attach(incident, _clean_deals(affected_deals), actor, label)


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
    # The title is a subject line and a headline: a person's typing is refused; text the system
    # composed (a detector's, with feed ids inside, or an alert relayed from monitoring, which
    # must open whatever its labels hold) is folded.
    composed = actor is None or source in (Source.DETECTOR, Source.MONITORING)
    title = one_line_field(title, field="title", fold=composed)
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
    incident_log_steps_tick(incident=incident, actor=actor)  # opened with its log written
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
def incident_add_playbook(
    *, incident: Incident, playbook: Playbook, actor: User | None
) -> list[ChecklistStep]:
    """Append a playbook's steps (e.g. the rollback strategy) to the checklist; once only."""
    transition_require(actor=actor, action=IncidentAction.PLAYBOOK)
    locked = lock(incident)
    existing = list(
        ChecklistStep.objects.filter(incident=locked, playbook=playbook).order_by("position")
    )
    if existing:
        return existing
    transition_guard(incident=locked, action=IncidentAction.PLAYBOOK, actor=actor)
    steps = checklist_append_playbook(locked, playbook)
    timeline_record(
        incident=locked,
        kind=TimelineKind.PLAYBOOK_ADDED,
        actor=actor,
        message=_("Playbook “%(title)s” added to the checklist (%(n)d steps).")
        % {"title": playbook.title, "n": len(steps)},
        data={"playbook": playbook.slug},
    )
    return steps
