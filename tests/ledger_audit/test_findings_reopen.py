"""A finding that is still true never points at a closed incident: the next detection run reopens
the incident it points at (by the system, with the findings as the reason), unless the detector
has an active incident already, to which the findings then attach."""

import pytest

from console.selectors.dashboard import dashboard_for
from incidents.enums import Severity, Status, TimelineKind
from incidents.models import Incident, TimelineEntry
from incidents.services import (
    incident_close,
    incident_reopen,
    incident_resolve,
    incident_update_log,
)
from ledger_audit.enums import Detector
from ledger_audit.models import Finding
from ledger_audit.services import detection_process_pending, finding_record_changed_entries
from tests.ledger_audit.factories import ago, dispute, entry
from tests.ledger_audit.helpers import full_scan, ingest

pytestmark = pytest.mark.django_db

POSTMORTEM = {
    "root_cause": "Idempotency check raced.",
    "resolution": "Unique index on the key.",
    "prevention": "Staging idempotency tests.",
    "lessons_learned": "Test concurrency.",
}


def three_duplicate_keys() -> None:
    items = []
    for key in ("K1", "K2", "K3"):
        items += [entry(f"D-{key}", key=key), entry(f"D-{key}", key=key)]
    ingest("ledger-entries", items)


def close(incident: Incident, coordinator) -> Incident:
    incident_update_log(incident=incident, actor=coordinator, changes=POSTMORTEM)
    incident_resolve(incident=incident, actor=coordinator)
    return incident_close(incident=incident, actor=coordinator)


def open_sev0_findings() -> list[Finding]:
    return list(Finding.objects.filter(severity=Severity.SEV0, cleared_at__isnull=True))


def test_closing_a_duplicate_sev0_with_its_duplicates_still_there_reopens_it(coordinator):
    three_duplicate_keys()
    full_scan()
    incident = Incident.objects.get()
    close(incident, coordinator)
    assert dashboard_for(user=coordinator).open_counts["SEV0"] == 0  # the moment it is closed

    full_scan()  # the next detection run: the duplicates are still in the data

    incident.refresh_from_db()
    assert incident.status == Status.OPEN
    assert Incident.objects.count() == 1  # the same incident, not a new one
    findings = open_sev0_findings()
    assert len(findings) == 3
    assert {f.incident_id for f in findings} == {incident.pk}
    board = dashboard_for(user=coordinator)
    assert board.open_counts["SEV0"] == 1
    assert {f.pk for f in board.findings} == {f.pk for f in findings}
    reopened = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.REOPENED)
    assert reopened.actor is None  # the system, not a person
    assert reopened.data["from"] == Status.CLOSED
    for key in ("K1", "K2", "K3"):
        assert f"duplicate_key:{key}" in reopened.data["reason"]
    still = TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.FINDING).latest("id")
    assert sorted(still.data["still_true"]) == [
        "duplicate_key:K1",
        "duplicate_key:K2",
        "duplicate_key:K3",
    ]


def test_a_scoped_run_reopens_a_resolved_incident_for_the_findings_it_rechecks(engineer):
    three_duplicate_keys()
    full_scan()
    incident = Incident.objects.get()
    incident_resolve(incident=incident, actor=engineer)
    ingest("ledger-entries", [entry("D-K1", "release", "10", key="K1")])  # a third entry on K1
    detection_process_pending()
    incident.refresh_from_db()
    assert incident.status == Status.OPEN
    assert Finding.objects.get(fingerprint="duplicate_key:K1").incident_id == incident.pk


def test_a_resolved_incident_whose_findings_cleared_stays_resolved(engineer):
    item = dispute("D1", ago(hours=2), 3600, dispute_id="X1")
    ingest("disputes", [item])
    full_scan()
    incident = Incident.objects.get()
    incident_resolve(incident=incident, actor=engineer)
    ingest("disputes", [{**item, "status": "resolved", "resolution": "refund"}])
    detection_process_pending()
    full_scan()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert not Finding.objects.filter(cleared_at__isnull=True).exists()


def test_with_an_active_incident_for_the_detector_the_findings_attach_to_it(coordinator):
    three_duplicate_keys()
    detection_process_pending()
    first = Incident.objects.get()
    close(first, coordinator)
    ingest("ledger-entries", [entry("D-K9", key="K9"), entry("D-K9", key="K9")])
    detection_process_pending()  # K9 is new: a new incident (the old one is closed)
    second = Incident.objects.exclude(pk=first.pk).get()
    full_scan()
    first.refresh_from_db()
    assert first.status == Status.CLOSED  # not reopened: the problem has an active incident
    assert {f.incident_id for f in open_sev0_findings()} == {second.pk}
    assert sorted(Incident.objects.get(pk=second.pk).affected_deals) == [
        "D-K1",
        "D-K2",
        "D-K3",
        "D-K9",
    ]


def test_a_repeated_changed_entry_reopens_its_closed_incident(coordinator):
    change = {"entry_id": "E1", "deal_id": "D1", "changed": {"amount": ["1", "2"]}}
    finding_record_changed_entries(changes=[change])
    incident = Incident.objects.get()
    close(incident, coordinator)
    finding_record_changed_entries(changes=[change])  # the platform sends it again
    incident.refresh_from_db()
    assert incident.status == Status.OPEN
    assert Finding.objects.get(detector=Detector.ENTRY_CHANGED).incident_id == incident.pk


def test_a_reopen_by_a_person_meanwhile_is_no_error(coordinator):
    three_duplicate_keys()
    full_scan()
    incident = close(Incident.objects.get(), coordinator)
    incident_reopen(incident=incident, actor=coordinator, reason="duplicates still there")
    full_scan()
    incident.refresh_from_db()
    assert incident.status == Status.OPEN
    assert TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.REOPENED).count() == 1
