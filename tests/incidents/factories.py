"""Incidents for tests: opened through the service, or built in bulk."""

from datetime import datetime, timedelta
from typing import Any

import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.enums import Category, Severity, Source, Status
from incidents.models import (
    ChecklistStep,
    Incident,
    IncidentCounter,
    RosterMember,
    TimelineEntry,
    WebhookEndpoint,
)
from incidents.services import incident_open


def open_overdue_sev0s(count: int, *, key: str, minutes_ago: int = 20) -> None:
    """``count`` detector SEV0s opened ``minutes_ago`` minutes ago: every response timer is due.
    Their dedup keys are ``{key}:{i}``."""
    with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago), tick=False):
        for i in range(count):
            incident_open(
                title=f"Double release {i}",
                severity=Severity.SEV0,
                category=Category.FUNDS_INCORRECT,
                actor=None,
                source=Source.DETECTOR,
                dedup_key=f"{key}:{i}",
            )


def open_incident(
    *,
    title: str = "Duplicate ledger entries on deal D-1",
    severity: str = Severity.SEV0,
    category: str = Category.DUPLICATE_LEDGER,
    actor: User | None = None,
    source: str = Source.PERSON,
    **kwargs: Any,
) -> Incident:
    return incident_open(
        title=title, severity=severity, category=category, actor=actor, source=source, **kwargs
    )


def bulk_incidents(count: int, *, start: datetime | None = None) -> list[Incident]:
    """``count`` incidents with a checklist step and a timeline row each (bulk, fast)."""
    first = (Incident.objects.order_by("-number").values_list("number", flat=True).first()) or 0
    start = start or timezone.now() - timedelta(days=1)
    severities = list(Severity.values)
    statuses = [Status.OPEN, Status.ACKNOWLEDGED, Status.RESOLVED]
    incidents = Incident.objects.bulk_create(
        [
            Incident(
                number=first + i,
                title=f"Bulk incident {first + i}",
                severity=severities[i % 4],
                category=Category.OTHER,
                status=statuses[i % 3],
                opened_at=start + timedelta(seconds=i),
                affected_deals=[f"D-{i}"],
            )
            for i in range(1, count + 1)
        ]
    )
    ChecklistStep.objects.bulk_create(
        [ChecklistStep(incident=inc, position=1, title="Step") for inc in incidents]
    )
    TimelineEntry.objects.bulk_create(
        [TimelineEntry(incident=inc, kind="opened", message="Opened.") for inc in incidents]
    )
    IncidentCounter.objects.update_or_create(pk=1, defaults={"last_number": first + count})
    return incidents


def roster_member(
    user: User,
    level: int,
    *,
    email: str | None = None,
    webhook: WebhookEndpoint | None = None,
    on_call_from: datetime | None = None,
    on_call_until: datetime | None = None,
) -> RosterMember:
    """A roster member (email: None → ``<username>@example.test``, "" → none), optionally on
    call."""
    from incidents.models import OnCallShift

    member = RosterMember.objects.create(
        user=user,
        level_id=level,
        email=f"{user.username}@example.test" if email is None else email,
        webhook=webhook,
    )
    if on_call_from is not None:
        OnCallShift.objects.create(
            member=member,
            level_id=level,
            starts_at=on_call_from,
            ends_at=on_call_until or on_call_from + timedelta(days=7),
        )
    return member


def webhook_endpoint(url: str, *, name: str = "chat", secret: str = "s3cret") -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name=name, url=url, secret=secret)
