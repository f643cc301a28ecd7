"""The Go/No-Go report: the pilot's state and its incident record for a period, and a
recommendation by a stated rule. MTTA/MTTR and compliance come from the SLA report of the
incidents app (``incidents.sla.reports.sla_report``) — never computed a second time here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from core.periods import Period, period_parse
from core.periods import period_default as core_period_default
from incidents.enums import ACTIVE_STATUSES, Severity
from incidents.models import Incident
from incidents.sla.reports import sla_report
from ledger_audit.selectors import open_findings
from pilot.models import ConfigRevision, RollbackRecord
from pilot.selectors import pilot_config_current

GO = "GO"
NO_GO = "NO_GO"
BLOCKING_SEVERITIES = (Severity.SEV0, Severity.SEV1)


def period_default(*, today: date | None = None) -> Period:
    """The last ``GO_NO_GO_DEFAULT_DAYS`` days, today included."""
    return core_period_default(days=int(settings.GO_NO_GO_DEFAULT_DAYS), today=today)


def period_from(*, start: str | date | None, end: str | date | None) -> Period:
    """The report's period from ``?from=&to=`` (defaults as ``period_default``); raises
    ``PeriodError`` (a ``DomainError`` and a ``ValueError``) when the input is unusable."""
    return period_parse(start=start, end=end, default_days=int(settings.GO_NO_GO_DEFAULT_DAYS))


@dataclass
class GoNoGo:
    period: Period
    recommendation: str
    reasons: list[str]
    pilot: dict[str, Any]
    incidents_by_severity: dict[str, int]
    sla: dict[str, Any]
    mtta_seconds: float | None
    mttr_seconds: float | None
    open_sev0_sev1: list[int]
    open_findings: int
    config_changes: int
    rollbacks: int
    threshold: float
    generated_at: datetime
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)
    trend: list[tuple[date, float | None, float | None]] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        """The API body (``GET /api/v1/reports/go-no-go/``)."""
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "recommendation": self.recommendation,
            "reasons": list(self.reasons),
            "pilot": dict(self.pilot),
            "incidents_by_severity": dict(self.incidents_by_severity),
            "sla": self.sla,
            "mtta_seconds": self.mtta_seconds,
            "mttr_seconds": self.mttr_seconds,
            "open_sev0_sev1": list(self.open_sev0_sev1),
            "open_findings": self.open_findings,
            "config_changes": self.config_changes,
            "rollbacks": self.rollbacks,
            "threshold": self.threshold,
            "generated_at": self.generated_at.isoformat(),
        }


def _sla_summary(report: dict[str, Any]) -> dict[str, Any]:
    """Compliance per severity (from the SLA report) and overall: the share of incidents whose
    response deadline has been judged that were acknowledged by it."""
    per: dict[str, Any] = {}
    in_time = judged = 0
    for severity in Severity.values:
        stats = report["per_severity"].get(severity) or {}
        ok = int(stats.get("acknowledged_in_time") or 0)
        late = int(stats.get("acknowledged_late") or 0)
        in_time, judged = in_time + ok, judged + ok + late
        per[severity] = {
            "compliance": stats.get("compliance"),
            "judged": ok + late,
            "in_time": ok,
            "late": late,
            "mtta_seconds": stats.get("mtta_seconds"),
            "mttr_seconds": stats.get("mttr_seconds"),
        }
    overall = round(in_time / judged, 4) if judged else None
    return {"compliance": overall, "judged": judged, "per_severity": per}


def recommendation_for(
    *, open_blocking: list[tuple[int, str]], compliance: float | None, threshold: float
) -> tuple[str, list[str]]:
    """The rule: any open SEV0/SEV1 incident, or SLA compliance below ``threshold``, is a
    No-Go; each cause is a reason. With nothing against it, Go (with the reason stated)."""
    reasons = [
        _("Incident #%(n)03d (%(sev)s) is still open.") % {"n": number, "sev": severity}
        for number, severity in open_blocking
    ]
    if compliance is not None and compliance < threshold:
        reasons.append(
            _("SLA compliance %(c).1f%% is below the %(t).1f%% threshold.")
            % {"c": compliance * 100, "t": threshold * 100}
        )
    if reasons:
        return NO_GO, reasons
    why = _("No open SEV0/SEV1 incident")
    if compliance is None:
        why += _("; no response deadline fell due in the period.")
    else:
        why += _("; SLA compliance %(c).1f%% meets the %(t).1f%% threshold.") % {
            "c": compliance * 100,
            "t": threshold * 100,
        }
    return GO, [why]


def incidents_per_day(*, period: Period) -> dict[date, dict[str, int]]:
    """Incidents opened each local day of the period, by severity (one query)."""
    rows = (
        Incident.objects.filter(opened_at__gte=period.since, opened_at__lt=period.until)
        .annotate(day=TruncDate("opened_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "severity")
        .annotate(n=Count("id"))
        .order_by("day", "severity")
    )
    result: dict[date, dict[str, int]] = {
        day: dict.fromkeys(Severity.values, 0) for day in period.days
    }
    for row in rows:
        if row["day"] in result:
            result[row["day"]][row["severity"]] = row["n"]
    return result


def mtta_mttr_trend(
    *, period: Period, now: datetime | None = None
) -> list[tuple[date, float | None, float | None]]:
    """(bucket start, MTTA, MTTR) per day — per week when the period exceeds 31 days — each
    from the SLA report of that bucket."""
    step = 1 if len(period.days) <= 31 else 7
    points: list[tuple[date, float | None, float | None]] = []
    for offset in range(0, len(period.days), step):
        first = period.start + timedelta(days=offset)
        last = min(period.end, first + timedelta(days=step - 1))
        bucket = Period(first, last)
        report = sla_report(start=bucket.since, end=bucket.until, now=now)
        points.append((first, report["mtta_seconds"], report["mttr_seconds"]))
    return points


def go_no_go_report(
    *, period: Period, now: datetime | None = None, with_charts: bool = False
) -> GoNoGo:
    """Everything the decision owner needs to continue or stop the pilot for ``period``."""
    now = now or timezone.now()
    threshold = float(settings.GO_NO_GO_MIN_COMPLIANCE)
    report = sla_report(start=period.since, end=period.until, now=now)
    sla = _sla_summary(report)
    open_blocking = list(
        Incident.objects.filter(
            status__in=sorted(str(s) for s in ACTIVE_STATUSES),
            severity__in=[str(s) for s in BLOCKING_SEVERITIES],
        )
        .order_by("number")
        .values_list("number", "severity")
    )
    recommendation, reasons = recommendation_for(
        open_blocking=open_blocking, compliance=sla["compliance"], threshold=threshold
    )
    result = GoNoGo(
        period=period,
        recommendation=recommendation,
        reasons=reasons,
        pilot=pilot_config_current().as_data(),
        incidents_by_severity={
            s: int(report["per_severity"].get(s, {}).get("count") or 0) for s in Severity.values
        },
        sla=sla,
        mtta_seconds=report["mtta_seconds"],
        mttr_seconds=report["mttr_seconds"],
        open_sev0_sev1=[number for number, _severity in open_blocking],
        open_findings=open_findings().count(),
        config_changes=ConfigRevision.objects.filter(
            created_at__gte=period.since, created_at__lt=period.until
        ).count(),
        rollbacks=RollbackRecord.objects.filter(
            recorded_at__gte=period.since, recorded_at__lt=period.until
        ).count(),
        threshold=threshold,
        generated_at=now,
    )
    if with_charts:
        result.per_day = incidents_per_day(period=period)
        result.trend = mtta_mttr_trend(period=period, now=now)
    return result
