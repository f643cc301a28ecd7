"""Detection runs: turn the detectors' problems into findings (open, refresh, clear) and open one
incident per detector while one is active, with the affected deals merged in."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.errors import Conflict
from core.text import one_line
from incidents.enums import ACTIVE_STATUSES, Category, Severity, Source, TimelineKind
from incidents.models import ACTIVE_Q, Incident
from incidents.services import incident_open, incident_reopen, timeline_record
from ledger_audit.detectors import DETECTORS, KEY_SCOPED, Problem, Scope
from ledger_audit.enums import Detector
from ledger_audit.metrics import FINDINGS_OPENED
from ledger_audit.models import DetectionWork, Finding

# detector → (severity, incident category, incident title)
INCIDENT_KIND: dict[str, tuple[str, str, str]] = {
    Detector.DUPLICATE_KEY: (
        Severity.SEV0,
        Category.DUPLICATE_LEDGER,
        "Duplicate ledger entries (same idempotency key)",
    ),
    Detector.FUNDS_INCORRECT: (
        Severity.SEV0,
        Category.FUNDS_INCORRECT,
        "Funds incorrect / double release",
    ),
    Detector.DATA_INTEGRITY: (
        Severity.SEV0,
        Category.DATA_INTEGRITY,
        "Ledger inconsistency: mixed currencies or non-positive amounts",
    ),
    Detector.TIMER_MISSING: (
        Severity.SEV1,
        Category.TIMER_NOT_VISIBLE,
        "Timer not visible on deals in INSPECTION/ISSUE",
    ),
    # A timer expired and the deal did not move: the runbook's Incident 4 ("Deal stuck in
    # state", cause "timer not firing"), so its playbook comes at once, not after N days.
    Detector.TRANSITION_BLOCKED: (
        Severity.SEV1,
        Category.DEAL_STUCK,
        "Deal state transitions blocked: timer expired, deal did not move (timer not firing)",
    ),
    Detector.DISPUTE_TTL: (
        Severity.SEV1,
        Category.DISPUTE_STUCK,
        "Disputes stuck (cannot resolve): disputes past their TTL",
    ),
    # Incident 3 needs its symptom: a resolution was tried and failed (reported by the feed).
    Detector.DISPUTE_RESOLUTION_FAILED: (
        Severity.SEV1,
        Category.ADMIN_CANNOT_RESOLVE_DISPUTE,
        "Admin cannot resolve dispute: resolution attempts failed",
    ),
    Detector.DEAL_STUCK: (Severity.SEV1, Category.DEAL_STUCK, "Deals stuck in state"),
    Detector.ENTRY_CHANGED: (
        Severity.SEV0,
        Category.DATA_INTEGRITY,
        "Ledger entry changed: the platform re-sent an entry with another body",
    ),
}
# One advisory-lock key for detection runs on PostgreSQL (SQLite serialises writers anyway).
_DETECTION_LOCK = 0x1ED6E7A0D17
_CHUNK = 1000
MESSAGE_ITEMS = 60


@dataclass(frozen=True)
class DetectionResult:
    opened: int
    refreshed: int
    cleared: int
    incidents: tuple[int, ...]  # numbers of incidents opened or attached to


def dedup_key_for(detector: str) -> str:
    return f"detector:{detector}"


def _lock_detection() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DETECTION_LOCK])


@transaction.atomic
def detection_run(*, scope: Scope, now: datetime | None = None) -> DetectionResult:
    """Run every detector on ``scope``; open, refresh and clear findings; open incidents."""
    _lock_detection()
    now = now or timezone.now()
    opened = refreshed = cleared = 0
    numbers: set[int] = set()
    for detector, detect in DETECTORS.items():
        problems = detect(scope, now)
        subjects = scope.keys if detector in KEY_SCOPED else scope.deal_ids
        o, r, c, new, stale = _apply(detector, problems, subjects, scope.is_full, now)
        opened, refreshed, cleared = opened + o, refreshed + r, cleared + c
        if new or stale:
            numbers.add(_raise_incident(detector, new, stale).number)
    return DetectionResult(opened, refreshed, cleared, tuple(sorted(numbers)))


def _apply(
    detector: str,
    problems: list[Problem],
    subjects: frozenset[str] | None,
    full: bool,
    now: datetime,
) -> tuple[int, int, int, list[Finding], list[Finding]]:
    """Open, refresh and clear ``detector``'s findings. Returns the counts, the new findings and
    the stale ones: still true, but their incident is no longer active (resolved or closed, or
    gone), so that the caller brings them back to an active incident."""
    open_qs = Finding.objects.filter(detector=detector, cleared_at__isnull=True)
    if not full:
        if not subjects:
            return 0, 0, 0, [], []
        open_qs = open_qs.filter(subject__in=subjects)
    current = {
        fp: (pk, evidence, deals, incident_id, status)
        for fp, pk, evidence, deals, incident_id, status in open_qs.values_list(
            "fingerprint", "id", "evidence", "deal_ids", "incident_id", "incident__status"
        )
    }
    found = {p.fingerprint: p for p in problems}
    to_clear = [row[0] for fp, row in current.items() if fp not in found]
    for start in range(0, len(to_clear), _CHUNK):
        Finding.objects.filter(pk__in=to_clear[start : start + _CHUNK]).update(cleared_at=now)
    severity = INCIDENT_KIND[detector][0]
    new = [
        Finding(
            detector=detector,
            fingerprint=p.fingerprint,
            subject=p.subject,
            severity=severity,
            title=_finding_title(p.title),
            evidence=p.evidence,
            deal_ids=list(p.deal_ids),
            first_seen=now,
            last_seen=now,
        )
        for fp, p in found.items()
        if fp not in current
    ]
    Finding.objects.bulk_create(new, batch_size=_CHUNK)
    FINDINGS_OPENED.count(len(new), detector=str(detector))
    seen = [current[fp][0] for fp in found if fp in current]
    for start in range(0, len(seen), _CHUNK):
        Finding.objects.filter(pk__in=seen[start : start + _CHUNK]).update(last_seen=now)
    changed = [
        Finding(
            pk=current[fp][0],
            evidence=p.evidence,
            deal_ids=list(p.deal_ids),
            title=_finding_title(p.title),
        )
        for fp, p in found.items()
        if fp in current and (current[fp][1] != p.evidence or current[fp][2] != list(p.deal_ids))
    ]
    Finding.objects.bulk_update(changed, ["evidence", "deal_ids", "title"], batch_size=_CHUNK)
    stale = [
        Finding(
            pk=current[fp][0],
            detector=detector,
            fingerprint=fp,
            subject=p.subject,
            title=p.title,
            evidence=p.evidence,
            deal_ids=list(p.deal_ids),
            incident_id=current[fp][3],
        )
        for fp, p in found.items()
        if fp in current and current[fp][4] not in ACTIVE_STATUSES
    ]
    return len(new), len(seen), len(to_clear), new, stale


def _finding_title(text: str) -> str:
    """A finding's title is a headline composed from feed ids: folded onto one line (whatever
    an old row or a lax entry point stored), then cut to the column."""
    return one_line(text)[:300]


def _reopen_for(detector: str, stale: Sequence[Finding]) -> None:
    """Findings still true never point at a closed incident: unless the detector has an active
    incident already (they attach to it), the latest incident they point at is reopened by the
    system, with the findings as the reason. Reopened rather than a new one opened: it is the
    same problem, its timeline and checklist carry on, and a reopening restarts its clocks."""
    if Incident.objects.filter(ACTIVE_Q, dedup_key=dedup_key_for(detector)).exists():
        return
    pointed_at = {f.incident_id for f in stale if f.incident_id is not None}
    incident = Incident.objects.filter(pk__in=pointed_at).order_by("-number").first()
    if incident is None:  # the incident is gone: a new one is opened
        return
    shown = ", ".join(f.fingerprint for f in stale[:MESSAGE_ITEMS])
    more = f" (+{len(stale) - MESSAGE_ITEMS} more)" if len(stale) > MESSAGE_ITEMS else ""
    reason = (
        f"the detector “{Detector(detector).label}” still finds {len(stale)} problem(s) "
        f"in the data: {shown}{more}"
    )
    # Reopened by someone else meanwhile: it is active, and the findings attach to it.
    with contextlib.suppress(Conflict):
        incident_reopen(incident=incident, actor=None, reason=reason)


def _raise_incident(
    detector: str, findings: Sequence[Finding], stale: Sequence[Finding] = ()
) -> Incident:
    """One incident per detector while it is active: new findings attach to it, and so do
    findings still true whose incident was resolved or closed (reopening it)."""
    severity, category, title = INCIDENT_KIND[detector]
    if stale:
        _reopen_for(detector, stale)
    every = [*findings, *stale]
    deals = sorted({d for f in every for d in f.deal_ids})
    summary = _summary(detector, findings, stale)
    incident = incident_open(
        title=title,
        severity=severity,
        category=category,
        actor=None,
        source=Source.DETECTOR,
        description=f"Opened by the ledger-audit detector “{Detector(detector).label}”.\n"
        + summary["message"],
        impact=f"{len(deals)} deal(s) affected.",
        affected_deals=deals,
        dedup_key=dedup_key_for(detector),
    )
    Finding.objects.filter(pk__in=[f.pk for f in every]).update(incident=incident)
    timeline_record(
        incident=incident,
        kind=TimelineKind.FINDING,
        actor=None,
        message=summary["message"],
        data=summary["data"],
    )
    return incident


def _summary(
    detector: str, findings: Sequence[Finding], stale: Sequence[Finding] = ()
) -> dict[str, Any]:
    if not findings:
        return _stale_summary(detector, stale)
    summary = _new_summary(detector, findings)
    if stale:
        more = _stale_summary(detector, stale)
        summary["message"] += "\n" + more["message"]
        summary["data"]["still_true"] = more["data"]["still_true"]
        summary["data"]["deal_ids"] = sorted(
            {*summary["data"]["deal_ids"], *more["data"]["deal_ids"]}
        )
    return summary


def _stale_summary(detector: str, stale: Sequence[Finding]) -> dict[str, Any]:
    label = str(Detector(detector).label)
    titles = [f.title for f in stale]
    more = f" (+{len(titles) - MESSAGE_ITEMS} more)" if len(titles) > MESSAGE_ITEMS else ""
    message = (
        f"{label}: {len(titles)} finding(s) still true after their incident was resolved or "
        "closed: " + "; ".join(titles[:MESSAGE_ITEMS]) + more
    )
    data: dict[str, Any] = {
        "detector": detector,
        "findings": [],
        "still_true": [f.fingerprint for f in stale],
        "deal_ids": sorted({d for f in stale for d in f.deal_ids}),
        "entry_ids": sorted({e for f in stale for e in f.evidence.get("entry_ids", [])}),
    }
    return {"message": message, "data": data}


def _new_summary(detector: str, findings: Sequence[Finding]) -> dict[str, Any]:
    label = str(Detector(detector).label)
    data: dict[str, Any] = {
        "detector": detector,
        "findings": [f.fingerprint for f in findings],
        "deal_ids": sorted({d for f in findings for d in f.deal_ids}),
        "entry_ids": sorted({e for f in findings for e in f.evidence.get("entry_ids", [])}),
    }
    if detector == Detector.DUPLICATE_KEY:
        keys = {f.subject: f.evidence.get("entry_ids", []) for f in findings}
        data["keys"] = keys
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in list(keys.items())[:MESSAGE_ITEMS])
        more = f" (+{len(keys) - MESSAGE_ITEMS} more)" if len(keys) > MESSAGE_ITEMS else ""
        message = f"{len(keys)} duplicate idempotency key(s) → entries: {listed}{more}"
    else:
        titles = [f.title for f in findings]
        more = f" (+{len(titles) - MESSAGE_ITEMS} more)" if len(titles) > MESSAGE_ITEMS else ""
        message = f"{label}: {len(titles)} new finding(s): " + "; ".join(titles[:MESSAGE_ITEMS])
        message += more
    return {"message": message, "data": data}


@transaction.atomic
def finding_record_changed_entries(*, changes: Sequence[dict[str, Any]]) -> list[Finding]:
    """A platform ledger entry came back with another body: a SEV0 finding per change (one per
    distinct new body, so a retried batch does not repeat it) and the SEV0 incident."""
    _lock_detection()
    now = timezone.now()
    wanted: dict[str, Finding] = {}
    for change in changes:
        body = json.dumps(change.get("changed", {}), sort_keys=True, default=str)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        entry_id = str(change["entry_id"])
        fingerprint = f"entry_changed:{entry_id}:{digest}"
        deal = change.get("deal_id")
        wanted[fingerprint] = Finding(
            detector=Detector.ENTRY_CHANGED,
            fingerprint=fingerprint,
            subject=entry_id,
            severity=Severity.SEV0,
            title=_finding_title(f"Ledger entry {entry_id} changed"),
            evidence={"entry_ids": [entry_id], **change},
            deal_ids=[deal] if deal else [],
            first_seen=now,
            last_seen=now,
        )
    existing = {
        fp: (pk, incident_id, status)
        for fp, pk, incident_id, status in Finding.objects.filter(
            fingerprint__in=wanted, cleared_at__isnull=True
        ).values_list("fingerprint", "id", "incident_id", "incident__status")
    }
    Finding.objects.filter(fingerprint__in=existing, cleared_at__isnull=True).update(last_seen=now)
    new = [f for fp, f in wanted.items() if fp not in existing]
    Finding.objects.bulk_create(new)
    FINDINGS_OPENED.count(len(new), detector=str(Detector.ENTRY_CHANGED))
    # The same change sent again while its incident is resolved or closed: still true.
    stale = []
    for fp, (pk, incident_id, status) in existing.items():
        if status not in ACTIVE_STATUSES:
            finding = wanted[fp]
            finding.pk, finding.incident_id = pk, incident_id
            stale.append(finding)
    if new or stale:
        _raise_incident(Detector.ENTRY_CHANGED, new, stale)
    return new


@transaction.atomic
def detection_process_pending(*, limit: int = 50) -> int:
    """Consume pending outbox rows (the sweep): merge their scopes into one detection run."""
    rows = list(
        DetectionWork.objects.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .order_by("created_at")[:limit]
    )
    if not rows:
        return 0
    deals: set[str] = set()
    keys: set[str] = set()
    for row in rows:
        deals.update(row.deal_ids)
        keys.update(row.keys)
    detection_run(scope=Scope.of(deal_ids=deals, keys=keys))
    DetectionWork.objects.filter(pk__in=[r.pk for r in rows]).update(processed_at=timezone.now())
    return len(rows)


@transaction.atomic
def detection_process_work(*, work_id: int) -> bool:
    """Consume one outbox row (the task sent after the batch committed). False: already done or
    being done by someone else."""
    row = (
        DetectionWork.objects.select_for_update(skip_locked=True)
        .filter(pk=work_id, processed_at__isnull=True)
        .first()
    )
    if row is None:
        return False
    detection_run(scope=Scope.of(deal_ids=row.deal_ids, keys=row.keys))
    row.processed_at = timezone.now()
    row.save(update_fields=["processed_at"])
    return True


def detection_purge_processed(*, older_than: datetime) -> int:
    deleted, _ = DetectionWork.objects.filter(
        processed_at__isnull=False, processed_at__lt=older_than
    ).delete()
    return deleted
