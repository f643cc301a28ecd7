"""Case 6: the SLA sweep with 20,000 open incidents (50 timers due) against 500 open incidents
(50 due): the sweep's cost must follow what is due, not what is open."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from bench.common import Figure, figure, log, ms, ratio, truncate, vacuum_analyze
from bench.data import BASE

DUE = 50
REPEAT = 5


def _incident_tables() -> list[Any]:
    from incidents import models as incident_models

    keep = {
        "SeverityPolicy",
        "Playbook",
        "PlaybookStep",
        "EscalationLevel",
        "EscalationRule",
        "BusinessHoliday",
    }
    return [
        m
        for m in vars(incident_models).values()
        if isinstance(m, type) and hasattr(m, "_meta") and m._meta.app_label == "incidents"
        if not m._meta.abstract and m.__name__ not in keep
    ]


def _build(open_count: int, now: Any) -> None:
    """``open_count`` open SEV1 incidents, each with a pending "unresolved after 1 h → L2" timer;
    the first ``DUE`` are due, the rest due tomorrow."""
    from incidents.enums import Category, RuleTrigger, Severity, Source, Status
    from incidents.models import EscalationRule, Incident, SlaTimer
    from ledger_audit.models import Finding, TimelineExport

    truncate(Finding, TimelineExport, *_incident_tables())
    rule = EscalationRule.objects.filter(
        severity=Severity.SEV1, trigger=RuleTrigger.UNRESOLVED_AFTER
    ).first()
    if rule is None:
        raise RuntimeError("the seeded SEV1 escalation rule is missing")
    opened = now - timedelta(hours=2)
    incidents = [
        Incident(
            number=n,
            title=f"Bench SLA incident {n}",
            severity=Severity.SEV1,
            category=Category.OTHER,
            status=Status.OPEN,
            source=Source.PERSON,
            opened_at=opened,
            severity_set_at=opened,
            response_due_at=opened + timedelta(hours=1),
        )
        for n in range(1, open_count + 1)
    ]
    Incident.objects.bulk_create(incidents, batch_size=2000)
    timers = [
        SlaTimer(
            incident=incident,
            rule=rule,
            due_at=(now - timedelta(minutes=1))
            if i < DUE
            else (now + timedelta(days=1, seconds=i)),
        )
        for i, incident in enumerate(incidents)
    ]
    SlaTimer.objects.bulk_create(timers, batch_size=2000)
    vacuum_analyze(Incident, SlaTimer)


def _sweep(open_count: int) -> dict[str, Any]:
    from django.utils import timezone

    from incidents.services.escalation import sla_sweep

    samples = []
    fired = []
    for _ in range(REPEAT):
        now = timezone.now()
        _build(open_count, now)
        start = time.perf_counter()
        result = sla_sweep(now=now)
        samples.append(time.perf_counter() - start)
        fired.append(result.fired + result.skipped)
    return {"seconds": statistics.median(samples), "samples": samples, "handled": fired}


def run() -> list[Figure]:
    _ = BASE
    small = _sweep(500)
    log(f"case 6: 500 open, {DUE} due: {ms(small['seconds'])}")
    big = _sweep(20_000)
    log(f"case 6: 20,000 open, {DUE} due: {ms(big['seconds'])}")
    truncate(*_incident_tables())
    r = ratio(big["seconds"], small["seconds"])
    return [
        figure(
            6,
            "sweep: 20,000 open (50 due) vs 500 open (50 due)",
            measured=f"{ms(big['seconds'])} vs {ms(small['seconds'])}; timers handled "
            f"{big['handled'][0]} / {small['handled'][0]}",
            ratio=r,
            target="≤ 2x",
            met=r <= 2 and big["handled"][0] == DUE and small["handled"][0] == DUE,
            raw={"big": big, "small": small},
        )
    ]
