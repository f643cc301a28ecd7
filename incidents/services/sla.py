"""The SLA clock of an incident: deadlines from its severity policy (wall clock or business
time) and the escalation rules' timers, recomputed whenever the severity is set; breaches are
recorded when an incident is acknowledged or resolved after its deadline (the breach rule is
``incidents.selectors.deadline_breached_at``; starting the clock with its at-once rules is
``escalation.sla_clock_start``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.enums import ResponseClock, RuleAction, RuleTrigger, Status
from incidents.models import (
    BusinessHoliday,
    EscalationRule,
    Incident,
    SeverityPolicy,
    SlaTimer,
)
from incidents.selectors import deadline_breached_at
from incidents.sla.calendar import BusinessCalendar, add_business_time, end_of_next_business_day

# Timers run while someone still has to act.
CLOCK_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)


def business_calendar() -> BusinessCalendar:
    """The calendar from settings plus the extra holidays edited in the admin."""
    return BusinessCalendar.build(
        zone=settings.SLA_TIME_ZONE,
        working_days=settings.SLA_WORKING_DAYS,
        working_hours=settings.SLA_WORKING_HOURS,
        country=settings.SLA_HOLIDAY_COUNTRY,
        subdiv=settings.SLA_HOLIDAY_SUBDIV,
        extra_holidays=BusinessHoliday.objects.values_list("date", flat=True),
    )


def response_deadline(
    *, policy: SeverityPolicy | None, start: datetime, calendar: BusinessCalendar | None = None
) -> datetime | None:
    """When a response (acknowledgement) is due for an incident of ``policy`` from ``start``."""
    if policy is None:
        return None
    if policy.response_clock == ResponseClock.NEXT_BUSINESS_DAY:
        return end_of_next_business_day(calendar or business_calendar(), start)
    if policy.response_minutes is None:
        return None
    duration = timedelta(minutes=policy.response_minutes)
    if policy.response_clock == ResponseClock.BUSINESS:
        return add_business_time(calendar or business_calendar(), start, duration)
    return start + duration


def rules_for(severity: str) -> list[EscalationRule]:
    return [
        rule
        for rule in EscalationRule.objects.filter(active=True).order_by("position", "pk")
        if rule.severity in ("", severity)
    ]


@transaction.atomic
def deadlines_recompute(*, incident: Incident) -> Incident:
    """The single place where an incident's deadlines (``response_due_at``,
    ``escalation_due_at``) and its rule timers are computed: when it opens and when its severity
    changes. Pending timers of the previous severity are replaced."""
    start = incident.severity_set_at or incident.opened_at
    policy = SeverityPolicy.objects.filter(severity=incident.severity).first()
    response_due = response_deadline(policy=policy, start=start)
    SlaTimer.objects.filter(incident=incident, state="pending").delete()
    timers: list[SlaTimer] = []
    escalation_due: datetime | None = None
    for rule in rules_for(incident.severity):
        due: datetime | None = None
        if rule.trigger == RuleTrigger.UNACKNOWLEDGED:
            due = response_due if incident.acknowledged_at is None else None
        elif rule.trigger == RuleTrigger.UNRESOLVED_AFTER and rule.after_minutes is not None:
            due = start + timedelta(minutes=rule.after_minutes)
            if rule.action == RuleAction.ESCALATE:
                escalation_due = due if escalation_due is None else min(escalation_due, due)
        if due is not None and incident.status in CLOCK_STATUSES:
            timers.append(SlaTimer(incident=incident, rule=rule, due_at=due))
    SlaTimer.objects.bulk_create(timers, ignore_conflicts=True)
    incident.response_due_at = response_due
    incident.escalation_due_at = escalation_due
    incident.save(update_fields=["response_due_at", "escalation_due_at"])
    return incident


def breach_on_acknowledge(incident: Incident, at: datetime | None = None) -> bool:
    """Acknowledged after the response deadline?"""
    return deadline_breached_at(due=incident.response_due_at, at=at or timezone.now())


def breach_on_resolve(incident: Incident, at: datetime | None = None) -> bool:
    """Resolved after the escalation deadline (SEV0 15 min, SEV1 1 h by the default rules)?"""
    return deadline_breached_at(due=incident.escalation_due_at, at=at or timezone.now())
