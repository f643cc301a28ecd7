"""Reads of the SLA clock: MTTA, MTTR and compliance per severity for a period, and the
numbers ``/metrics`` exposes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from incidents.enums import ACTIVE_STATUSES, DeliveryStatus, Severity, TimerState
from incidents.models import (
    Incident,
    Notification,
    RosterMember,
    SlaTimer,
    SweepHeartbeat,
)
from incidents.selectors import deadline_breached_at, overdue_q

# A report without ``from`` covers the last 30 days (API and admin alike).
DEFAULT_PERIOD_DAYS = 30


@dataclass
class SeverityStats:
    count: int = 0
    acknowledged: int = 0
    acknowledged_in_time: int = 0
    acknowledged_late: int = 0  # late, or still unacknowledged past the deadline
    resolved: int = 0
    resolved_in_time: int = 0
    resolved_late: int = 0  # resolved after the escalation point: shown, never a breach
    ack_seconds: list[float] = field(default_factory=list)
    resolve_seconds: list[float] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        judged = self.acknowledged_in_time + self.acknowledged_late
        return {
            "count": self.count,
            "acknowledged": self.acknowledged,
            "acknowledged_in_time": self.acknowledged_in_time,
            "acknowledged_late": self.acknowledged_late,
            "resolved": self.resolved,
            "resolved_in_time": self.resolved_in_time,
            "resolved_late": self.resolved_late,
            "mtta_seconds": _mean(self.ack_seconds),
            "mttr_seconds": _mean(self.resolve_seconds),
            # Share of incidents whose response deadline has been judged that met it.
            "compliance": round(self.acknowledged_in_time / judged, 4) if judged else None,
        }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def sla_report(*, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
    """Incidents opened in ``[start, end)``: mean time to acknowledge / resolve (from opening)
    and, per severity, how many met their response and resolution deadlines."""
    now = now or timezone.now()
    per: dict[str, SeverityStats] = {s: SeverityStats() for s in Severity.values}
    ack_all: list[float] = []
    res_all: list[float] = []
    rows = (
        Incident.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .values_list(
            "severity",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "response_due_at",
            "acknowledged_late",
            "resolved_late",
        )
        .iterator(chunk_size=2000)
    )
    for severity, opened, acked, resolved, due, ack_late, res_late in rows:
        stats = per.setdefault(severity, SeverityStats())
        stats.count += 1
        if acked is not None:
            stats.acknowledged += 1
            seconds = (acked - opened).total_seconds()
            stats.ack_seconds.append(seconds)
            ack_all.append(seconds)
            if ack_late:
                stats.acknowledged_late += 1
            else:
                stats.acknowledged_in_time += 1
        elif deadline_breached_at(due=due, at=now):
            stats.acknowledged_late += 1
        if resolved is not None:
            stats.resolved += 1
            seconds = (resolved - opened).total_seconds()
            stats.resolve_seconds.append(seconds)
            res_all.append(seconds)
            if res_late:
                stats.resolved_late += 1
            else:
                stats.resolved_in_time += 1
    return {
        "from": start,
        "to": end,
        "mtta_seconds": _mean(ack_all),
        "mttr_seconds": _mean(res_all),
        "per_severity": {s: stats.as_data() for s, stats in per.items()},
    }


@dataclass(frozen=True)
class MetricSample:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[dict[str, str], float]]


def metric_samples(*, now: datetime | None = None) -> list[MetricSample]:
    """Everything ``/metrics`` shows (a handful of aggregate queries)."""
    now = now or timezone.now()
    active = sorted(str(s) for s in ACTIVE_STATUSES)
    open_rows = (
        Incident.objects.filter(status__in=active)
        .values("severity", "escalation_level")
        .annotate(n=Count("id"))
        .order_by()
    )
    breaches = Incident.objects.aggregate(
        ack=Count("id", filter=Q(acknowledged_late=True)),
        overdue=Count(
            "id",
            filter=Q(status="open", acknowledged_at__isnull=True)
            & overdue_q("response_due_at", at=now),
        ),
    )
    members = (
        RosterMember.objects.filter(active=True).values("level").annotate(n=Count("id")).order_by()
    )
    oldest_due = SlaTimer.objects.filter(state=TimerState.PENDING, due_at__lte=now).aggregate(
        m=Min("due_at")
    )["m"]
    beat = SweepHeartbeat.objects.filter(pk=1).values_list("last_finished_at", flat=True).first()
    member_counts = {row["level"]: row["n"] for row in members}
    # Events (deliveries, escalations, roster gaps) are counters in incidents.metrics: a count
    # of rows in their current state falls as rows change, which rate() reads as a reset.
    pending = (
        Notification.objects.filter(status=DeliveryStatus.QUEUED)
        .values("channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        MetricSample(
            "pcp_incidents_open",
            "gauge",
            "Incidents not resolved or closed, by severity and escalation level.",
            [
                ({"severity": r["severity"], "level": str(r["escalation_level"])}, r["n"])
                for r in open_rows
            ],
        ),
        MetricSample(
            "pcp_incident_deadline_breaches_total",
            "counter",
            # The response SLA is the only one: "cannot resolve within 15 minutes / 1 hour" is
            # the runbook's reason to escalate to L2, not a deadline that can be breached.
            "Incidents acknowledged after the response deadline.",
            [({"kind": "acknowledge"}, breaches["ack"])],
        ),
        MetricSample(
            "pcp_incidents_unacknowledged_overdue",
            "gauge",
            "Open incidents past their response deadline and not acknowledged.",
            [({}, breaches["overdue"])],
        ),
        MetricSample(
            "pcp_notifications_queued",
            "gauge",
            "Notifications queued and not yet sent or failed, by channel.",
            [({"channel": r["channel"]}, r["n"]) for r in pending],
        ),
        MetricSample(
            "pcp_roster_members",
            "gauge",
            "Active roster members per escalation level (0: nobody can be notified).",
            [({"level": str(level)}, member_counts.get(level, 0)) for level in range(1, 5)],
        ),
        MetricSample(
            "pcp_sla_sweep_lag_seconds",
            "gauge",
            "Age of the oldest due deadline the sweep has not handled yet (0: none).",
            [({}, max(0.0, (now - oldest_due).total_seconds()) if oldest_due else 0.0)],
        ),
        MetricSample(
            "pcp_sla_sweep_last_run_timestamp_seconds",
            "gauge",
            "When the SLA sweep last finished (Unix time; absent: never).",
            [({}, beat.timestamp())] if beat else [],
        ),
    ]
