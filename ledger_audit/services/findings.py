"""Detection runs: turn the detectors' problems into findings (open, refresh, clear) and open one
incident per detector while one is active, with the affected deals merged in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.text import one_line
from incidents.enums import Category, Severity, Source, TimelineKind
from incidents.models import Incident
from incidents.services import incident_open, timeline_record
from ledger_audit.detectors import DETECTORS, KEY_SCOPED, Problem, Scope
from ledger_audit.enums import Detector
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
    Detector.TRANSITION_BLOCKED: (
        Severity.SEV1,
        Category.TRANSITION_BLOCKED,
        "Deal state transitions blocked after timer expiry",
    ),
    Detector.DISPUTE_TTL: (
        Severity.SEV1,
        Category.ADMIN_CANNOT_RESOLVE_DISPUTE,
        "Admin cannot resolve dispute: disputes past their TTL",
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
        o, r, c, new = _apply(detector, problems, subjects, scope.is_full, now)
        opened, refreshed, cleared = opened + o, refreshed + r, cleared + c
        if new:
            numbers.add(_raise_incident(detector, new).number)
    return DetectionResult(opened, refreshed, cleared, tuple(sorted(numbers)))


def _apply(
    detector: str,
    problems: list[Problem],
    subjects: frozenset[str] | None,
    full: bool,
    now: datetime,
) -> tuple[int, int, int, list[Finding]]:
    open_qs = Finding.objects.filter(detector=detector, cleared_at__isnull=True)
    if not full:
        if not subjects:
            return 0, 0, 0, []
        open_qs = open_qs.filter(subject__in=subjects)
    current = {
        fp: (pk, evidence, deals)
        for fp, pk, evidence, deals in open_qs.values_list(
            "fingerprint", "id", "evidence", "deal_ids"
        )
    }
    found = {p.fingerprint: p for p in problems}
    to_clear = [pk for fp, (pk, _e, _d) in current.items() if fp not in found]
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
    seen = [current[fp][0] for fp in found if fp in current]
    for start in range(0, len(seen), _CHUNK):
        Finding.objects.filter(pk__in=seen[start : start + _CHUNK]).update(last_seen=now)
    changed = [
        Finding(pk=current[fp][0], evidence=p.evidence, deal_ids=list(p.deal_ids), title=_finding_title(p.title))
        for fp, p in found.items()
        if fp in current and (current[fp][1] != p.evidence or current[fp][2] != list(p.deal_ids))
    ]
    Finding.objects.bulk_update(changed, ["evidence", "deal_ids", "title"], batch_size=_CHUNK)
    return len(new), len(seen), len(to_clear), new


def _finding_title(text: str) -> str:
    """A finding's title is a headline composed from feed ids: folded onto one line (whatever
    an old row or a lax entry point stored), then cut to the column."""
    return one_line(text)[:300]


def _raise_incident(detector: str, findings: Sequence[Finding]) -> Incident:
    """One incident per detector while it is active: new findings attach to it."""
    severity, category, title = INCIDENT_KIND[detector]
    deals = sorted({d for f in findings for d in f.deal_ids})
    summary = _summary(detector, findings)
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
    Finding.objects.filter(pk__in=[f.pk for f in findings]).update(incident=incident)
    timeline_record(
        incident=incident,
        kind=TimelineKind.FINDING,
        actor=None,
        message=summary["message"],
        data=summary["data"],
    )
    return incident


def _summary(detector: str, findings: Sequence[Finding]) -> dict[str, Any]:
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
    existing = set(
        Finding.objects.filter(fingerprint__in=wanted, cleared_at__isnull=True).values_list(
            "fingerprint", flat=True
        )
    )
    Finding.objects.filter(fingerprint__in=existing, cleared_at__isnull=True).update(last_seen=now)
    new = [f for fp, f in wanted.items() if fp not in existing]
    Finding.objects.bulk_create(new)
    if new:
        _raise_incident(Detector.ENTRY_CHANGED, new)
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
