from typing import Any

from incidents.models import Incident
from ledger_audit import feed
from ledger_audit.detectors import Scope
from ledger_audit.models import Finding
from ledger_audit.services import detection_run

INGEST = {
    "deals": feed.feed_deal_events_ingest,
    "ledger-entries": feed.feed_ledger_entries_ingest,
    "timers": feed.feed_timers_ingest,
    "disputes": feed.feed_disputes_ingest,
}


def ingest(kind: str, items: list[dict[str, Any]]) -> feed.FeedResult:
    return INGEST[kind](items=items)


def full_scan() -> Any:
    return detection_run(scope=Scope.full())


def open_fingerprints(detector: str | None = None) -> set[str]:
    qs = Finding.objects.filter(cleared_at__isnull=True)
    if detector:
        qs = qs.filter(detector=detector)
    return set(qs.values_list("fingerprint", flat=True))


def incident_of(finding: Finding) -> Incident:
    assert finding.incident is not None, f"{finding} opened no incident"
    return finding.incident
