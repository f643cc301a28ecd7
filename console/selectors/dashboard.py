"""The dashboard (the admin index for every role). A fixed number of queries however many
incidents, findings or requests exist: lists are capped, counts are aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from incidents.enums import Severity, Status
from incidents.models import EscalationLevel, Incident, RosterMember, SweepHeartbeat
from incidents.selectors import deadline_breached_at, incident_queryset, on_call_members
from ledger_audit.models import Finding
from ledger_audit.selectors import open_findings
from pilot.models import ChangeRequest
from pilot.selectors import ConfigSnapshot, change_requests_awaiting, pilot_config_current

# The dashboard lists incidents someone must work now (deferred SEV2/SEV3 wait in the tracker).
WORKING_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    deadline: datetime | None  # response due until acknowledged, then the escalation deadline
    deadline_kind: str  # "response" | "escalation" | ""
    breached: bool


@dataclass(frozen=True)
class LevelOnCall:
    level: int
    name: str
    on_call: list[str]  # usernames covering the level now
    members: int  # active roster members of the level
    gap: bool  # nobody on call: notifications go to every member (or nobody, when members == 0)


@dataclass(frozen=True)
class Dashboard:
    pilot: ConfigSnapshot
    open_counts: dict[str, int]
    open_total: int
    incidents: list[IncidentRow]
    awaiting: list[ChangeRequest]
    findings: list[Finding]
    findings_total: int
    on_call: list[LevelOnCall]
    sweep_finished_at: datetime | None
    now: datetime

    @property
    def gaps(self) -> list[LevelOnCall]:
        return [level for level in self.on_call if level.gap]


def incident_deadline(incident: Incident, *, now: datetime) -> IncidentRow:
    if incident.acknowledged_at is None and incident.response_due_at is not None:
        deadline, kind = incident.response_due_at, "response"
    elif incident.escalation_due_at is not None:
        deadline, kind = incident.escalation_due_at, "escalation"
    else:
        deadline, kind = None, ""
    return IncidentRow(incident, deadline, kind, deadline_breached_at(due=deadline, at=now))


def on_call_now(*, at: datetime) -> list[LevelOnCall]:
    """Who covers each escalation level at ``at`` and which levels have nobody (three
    queries). The notifications' rule (``incidents.selectors.on_call_members``): on call by
    shift, else a gap."""
    levels = list(EscalationLevel.objects.order_by("level").values_list("level", "name"))
    covering = (
        on_call_members(at=at)
        .values_list("level_id", "user__username")
        .order_by("level_id", "user__username")
    )
    names: dict[int, list[str]] = {}
    for level, username in covering:
        names.setdefault(level, []).append(username)
    members = dict(
        RosterMember.objects.filter(active=True)
        .values("level_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("level_id", "n")
    )
    return [
        LevelOnCall(
            level=level,
            name=name,
            on_call=names.get(level, []),
            members=int(members.get(level, 0)),
            gap=not names.get(level),
        )
        for level, name in levels
    ]


def dashboard_for(*, user: Any, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    limit = int(settings.CONSOLE_DASHBOARD_LIMIT)
    working = [str(s) for s in WORKING_STATUSES]
    counts = {
        row["severity"]: row["n"]
        for row in Incident.objects.filter(status__in=working)
        .values("severity")
        .annotate(n=Count("id"))
        .order_by()
    }
    open_counts = {s: int(counts.get(s, 0)) for s in Severity.values}
    incidents = list(
        incident_queryset()
        .filter(status__in=working)
        .order_by("severity", "opened_at", "number")[:limit]
    )
    findings_qs = open_findings()
    return Dashboard(
        pilot=pilot_config_current(),
        open_counts=open_counts,
        open_total=sum(open_counts.values()),
        incidents=[incident_deadline(i, now=now) for i in incidents],
        awaiting=list(change_requests_awaiting(user=user)[:limit]),
        findings=list(findings_qs.order_by("-last_seen", "-id")[:limit]),
        findings_total=findings_qs.count(),
        on_call=on_call_now(at=now),
        sweep_finished_at=SweepHeartbeat.objects.filter(pk=1)
        .values_list("last_finished_at", flat=True)
        .first(),
        now=now,
    )
