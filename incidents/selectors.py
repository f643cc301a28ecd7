"""Reads of the incidents app (lists, detail, the incident log) and its rules as questions:
is a deadline breached at an instant, who is on call at a level, which acts are available."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import NotFound
from incidents.enums import ACTIVE_STATUSES, RuleAction, RuleTrigger
from incidents.log import render_incident, render_period
from incidents.models import (
    ChecklistStep,
    Incident,
    Playbook,
    RosterMember,
    SeverityPolicy,
    SlaTimer,
    TimelineEntry,
)
from incidents.transitions import incident_actions_available, incident_runbook_live

__all__ = [
    "checklist_prefetch",
    "deadline_breached_at",
    "escalation_breached_at",
    "escalation_target_level",
    "incident_actions_available",
    "incident_detail_queryset",
    "incident_get",
    "incident_list",
    "incident_log_markdown",
    "incident_log_period_markdown",
    "incident_queryset",
    "incident_runbook_live",
    "on_call_at",
    "on_call_members",
    "overdue_q",
    "playbooks_with_steps",
    "response_breached_at",
    "severity_policies",
    "timeline_prefetch",
]


# --- the SLA rules --------------------------------------------------------------------------


def deadline_breached_at(*, due: datetime | None, at: datetime) -> bool:
    """The one breach rule: a deadline is breached by an act (or a look at the clock) strictly
    after it; at the due instant itself it is still met. No deadline, no breach."""
    return due is not None and at > due


def overdue_q(field: str, *, at: datetime) -> Q:
    """``deadline_breached_at`` in SQL: rows whose ``field`` deadline is breached at ``at``."""
    return Q(**{f"{field}__lt": at})


def response_breached_at(incident: Incident, *, at: datetime) -> bool:
    """The response deadline, judged at the acknowledgement once there is one, else at ``at``."""
    when = incident.acknowledged_at or at
    return deadline_breached_at(due=incident.response_due_at, at=when)


def escalation_breached_at(incident: Incident, *, at: datetime) -> bool:
    """The escalation (resolution) deadline, judged at the resolution once there is one."""
    when = incident.resolved_at or at
    return deadline_breached_at(due=incident.escalation_due_at, at=when)


def escalation_target_level(incident: Incident) -> int:
    """The level the incident escalates to by itself at ``escalation_due_at`` (the "cannot
    resolve within 15 minutes / 1 hour" rule's level; the next level up when it names none)."""
    if incident.escalation_due_at is None:
        return min(4, incident.escalation_level + 1)
    level = (
        SlaTimer.objects.filter(
            incident=incident,
            due_at=incident.escalation_due_at,
            rule__action=RuleAction.ESCALATE,
            rule__trigger=RuleTrigger.UNRESOLVED_AFTER,
        )
        .order_by("pk")
        .values_list("rule__level_id", flat=True)
        .first()
    )
    return int(level) if level else min(4, incident.escalation_level + 1)


def on_call_members(*, at: datetime, level: int | None = None) -> QuerySet[RosterMember]:
    """The one rule for "on call": an active roster member with a shift of their own level that
    has started (``starts_at <= at``) and not ended (``at < ends_at``). Every level, or one."""
    qs = RosterMember.objects.filter(
        active=True,
        shifts__level_id=F("level_id"),
        shifts__starts_at__lte=at,
        shifts__ends_at__gt=at,
    )
    if level is not None:
        qs = qs.filter(level_id=level)
    return qs.distinct()


def on_call_at(*, level: int, at: datetime) -> list[RosterMember]:
    """Who is on call at ``level`` at ``at`` (with their contact channels)."""
    return list(
        on_call_members(at=at, level=level).select_related("user", "webhook").order_by("pk")
    )


# --- lists and details ----------------------------------------------------------------------


def incident_queryset() -> QuerySet[Incident]:
    """Incidents with the people every list shows, ordered by deadline: response due first
    (the SLA clock fills it), then most severe, then oldest."""
    return Incident.objects.select_related(
        "reported_by", "resolved_by", "acknowledged_by"
    ).order_by(F("response_due_at").asc(nulls_last=True), "severity", "opened_at", "number")


def incident_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Incident]:
    """Filters: status, severity, category, level (escalation level), open (True: not resolved
    or closed; False: resolved or closed)."""
    qs = incident_queryset()
    filters = filters or {}
    for name, field in (
        ("status", "status"),
        ("severity", "severity"),
        ("category", "category"),
        ("level", "escalation_level"),
    ):
        value = filters.get(name)
        if value not in (None, ""):
            qs = qs.filter(**{field: value})
    is_open = filters.get("open")
    if is_open is True:
        qs = qs.filter(status__in=sorted(str(s) for s in ACTIVE_STATUSES))
    elif is_open is False:
        qs = qs.exclude(status__in=sorted(str(s) for s in ACTIVE_STATUSES))
    return qs


def checklist_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "checklist",
        queryset=ChecklistStep.objects.select_related("done_by").order_by("position"),
    )


def timeline_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "timeline", queryset=TimelineEntry.objects.select_related("actor").order_by("at", "id")
    )


def incident_detail_queryset() -> QuerySet[Incident]:
    return incident_queryset().prefetch_related(checklist_prefetch(), timeline_prefetch())


def incident_get(*, number: int) -> Incident:
    incident = incident_detail_queryset().filter(number=number).first()
    if incident is None:
        raise NotFound(f"Incident #{number:03d} does not exist.")
    return incident


def incident_log_markdown(*, incident: Incident) -> str:
    timeline = TimelineEntry.objects.filter(incident=incident).order_by("at", "id")
    return render_incident(incident, timeline)


def incident_log_period_markdown(*, start: date, end: date) -> str:
    """Every incident opened from ``start`` to ``end`` (inclusive, local dates), by number."""
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    incidents = (
        Incident.objects.select_related("reported_by", "resolved_by")
        .prefetch_related(timeline_prefetch())
        .filter(opened_at__gte=since, opened_at__lt=until)
        .order_by("number")
    )
    return render_period(
        ((incident, incident.timeline.all()) for incident in incidents), start=start, end=end
    )


def severity_policies() -> list[SeverityPolicy]:
    return list(SeverityPolicy.objects.select_related("immediate_actions").order_by("severity"))


def playbooks_with_steps() -> QuerySet[Playbook]:
    return Playbook.objects.prefetch_related("steps").order_by("kind", "position", "slug")
