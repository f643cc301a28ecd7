from datetime import timedelta

import pytest

from incidents.enums import Category, Severity, Source, TimelineKind
from incidents.models import Incident, TimelineEntry
from ledger_audit.detectors import Scope
from ledger_audit.enums import Detector
from ledger_audit.models import DetectionWork, Finding
from ledger_audit.services import detection_process_pending, detection_process_work, detection_run
from tests.ledger_audit.factories import ago, dispute, entry, event, timer
from tests.ledger_audit.helpers import full_scan, incident_of, ingest, open_fingerprints

pytestmark = pytest.mark.django_db


# 1. duplicate idempotency keys -------------------------------------------------------------
def test_duplicate_key_opens_a_sev0_duplicate_ledger_incident():
    ingest(
        "ledger-entries", [entry("D1", key="K", entry_id="E1"), entry("D2", key="K", entry_id="E2")]
    )
    ingest("ledger-entries", [entry("D3", key="other")])
    full_scan()
    finding = Finding.objects.get(detector=Detector.DUPLICATE_KEY)
    assert finding.fingerprint == "duplicate_key:K"
    assert finding.evidence["entry_ids"] == ["E1", "E2"]
    assert finding.deal_ids == ["D1", "D2"]
    incident = incident_of(finding)
    assert (incident.severity, incident.category) == (Severity.SEV0, Category.DUPLICATE_LEDGER)
    assert incident.source == Source.DETECTOR
    assert sorted(incident.affected_deals) == ["D1", "D2"]


def test_distinct_keys_are_no_finding():
    ingest("ledger-entries", [entry("D1", key="A"), entry("D1", "release", key="B")])
    full_scan()
    assert not Finding.objects.exists()
    assert not Incident.objects.exists()


# 2. funds incorrect / double release -------------------------------------------------------
def test_release_plus_refund_over_held_is_funds_incorrect():
    ingest(
        "ledger-entries",
        [entry("D1", "hold", "100"), entry("D1", "release", "80"), entry("D1", "refund", "30")],
    )
    full_scan()
    finding = Finding.objects.get(detector=Detector.FUNDS_INCORRECT)
    assert finding.evidence["over_release"][0]["held"] == "100.00000000"
    assert incident_of(finding).category == Category.FUNDS_INCORRECT
    assert incident_of(finding).severity == Severity.SEV0


def test_money_leaving_twice_is_funds_incorrect():
    ingest(
        "ledger-entries",
        [entry("D1", "hold", "200"), entry("D1", "release", "100"), entry("D1", "release", "100")],
    )
    full_scan()
    finding = Finding.objects.get(detector=Detector.FUNDS_INCORRECT)
    assert finding.evidence["twice"] == [
        {"kind": "release", "amount": "100.00000000", "currency": "EUR", "count": 2}
    ]


def test_balanced_deals_are_not_funds_incorrect():
    ingest(
        "ledger-entries",
        [
            entry("D1", "hold", "100"),
            entry("D1", "release", "100"),
            entry("D2", "hold", "100"),
            entry("D2", "release", "60"),
            entry("D2", "refund", "40"),
        ],
    )
    full_scan()
    assert open_fingerprints(Detector.FUNDS_INCORRECT) == set()


# 3. data integrity -------------------------------------------------------------------------
def test_mixed_currencies_and_non_positive_amounts_are_data_integrity():
    ingest(
        "ledger-entries",
        [
            entry("D1", "hold", "100", currency="EUR"),
            entry("D1", "hold", "5", currency="USD"),
            entry("D2", "hold", "0", entry_id="ZERO"),
            entry("D3", "hold", "10"),
        ],
    )
    full_scan()
    assert open_fingerprints(Detector.DATA_INTEGRITY) == {
        "data_integrity:D1",
        "data_integrity:D2",
    }
    d2 = Finding.objects.get(fingerprint="data_integrity:D2")
    assert d2.evidence["non_positive_entry_ids"] == ["ZERO"]
    assert incident_of(d2).category == Category.DATA_INTEGRITY


# 4. timer not visible ----------------------------------------------------------------------
def test_deal_in_inspection_without_running_timer_past_grace():
    ingest("deals", [event("D1", "INSPECTION", ago(hours=1)), event("D2", "ISSUE", ago(hours=1))])
    ingest(
        "deals",
        [event("D3", "INSPECTION", ago(hours=1)), event("D4", "INSPECTION", ago(seconds=30))],
    )
    ingest("timers", [timer("D3", ago(hours=-1))])
    full_scan()
    assert open_fingerprints(Detector.TIMER_MISSING) == {"timer_missing:D1", "timer_missing:D2"}
    incident = Incident.objects.get(category=Category.TIMER_NOT_VISIBLE)
    assert incident.severity == Severity.SEV1
    assert sorted(incident.affected_deals) == ["D1", "D2"]


def test_timer_arriving_clears_the_finding_incrementally():
    ingest("deals", [event("D1", "INSPECTION", ago(hours=1))])
    full_scan()
    assert open_fingerprints(Detector.TIMER_MISSING) == {"timer_missing:D1"}
    ingest("timers", [timer("D1", ago(hours=-1))])
    work = DetectionWork.objects.filter(processed_at__isnull=True).latest("id")
    assert detection_process_work(work_id=work.pk) is True
    assert open_fingerprints(Detector.TIMER_MISSING) == set()
    assert Finding.objects.get(fingerprint="timer_missing:D1").cleared_at is not None
    assert detection_process_work(work_id=work.pk) is False  # consumed once


# 5. transition blocked ---------------------------------------------------------------------
def test_timer_expired_past_grace_with_deal_still_in_state():
    ingest(
        "deals", [event("D1", "INSPECTION", ago(hours=3)), event("D2", "INSPECTION", ago(hours=3))]
    )
    ingest(
        "deals", [event("D3", "INSPECTION", ago(hours=3)), event("D3", "RELEASED", ago(hours=1))]
    )
    ingest(
        "timers",
        [
            timer("D1", ago(hours=2), "expired", timer_id="T1"),
            timer("D2", ago(hours=-2), timer_id="T2"),  # still running, expires later
            timer("D3", ago(hours=2), "fired", timer_id="T3"),  # deal moved on
        ],
    )
    full_scan()
    assert open_fingerprints(Detector.TRANSITION_BLOCKED) == {"transition_blocked:D1"}
    finding = Finding.objects.get(fingerprint="transition_blocked:D1")
    assert finding.evidence["timer_ids"] == ["T1"]
    assert incident_of(finding).category == Category.DEAL_STUCK  # Incident 4: timer not firing


def test_cancelled_or_within_grace_timer_is_not_blocked():
    ingest(
        "deals", [event("D1", "INSPECTION", ago(hours=3)), event("D2", "INSPECTION", ago(hours=3))]
    )
    ingest(
        "timers",
        [timer("D1", ago(hours=2), "cancelled"), timer("D2", ago(seconds=60), "expired")],
    )
    full_scan()
    assert open_fingerprints(Detector.TRANSITION_BLOCKED) == set()


# 6. dispute past its TTL -------------------------------------------------------------------
def test_open_dispute_past_ttl():
    ingest(
        "disputes",
        [
            dispute("D1", ago(hours=2), 3600, dispute_id="X1"),
            dispute("D2", ago(hours=2), 3600, "resolved", dispute_id="X2", resolution="release"),
            dispute("D3", ago(minutes=10), 3600, dispute_id="X3"),
        ],
    )
    full_scan()
    assert open_fingerprints(Detector.DISPUTE_TTL) == {"dispute_ttl:X1"}
    incident = incident_of(Finding.objects.get(fingerprint="dispute_ttl:X1"))
    assert incident.category == Category.DISPUTE_STUCK


def test_resolving_the_dispute_clears_it():
    item = dispute("D1", ago(hours=2), 3600, dispute_id="X1")
    ingest("disputes", [item])
    full_scan()
    ingest("disputes", [{**item, "status": "resolved", "resolution": "refund"}])
    detection_process_pending()
    assert open_fingerprints(Detector.DISPUTE_TTL) == set()


# 7. deal stuck -----------------------------------------------------------------------------
def test_deal_in_same_state_over_seven_days_is_stuck():
    ingest(
        "deals",
        [
            event("D1", "FUNDED", ago(days=8)),
            event("D2", "FUNDED", ago(days=6)),
            event("D3", "RELEASED", ago(days=30)),
        ],
    )
    full_scan()
    assert open_fingerprints(Detector.DEAL_STUCK) == {"deal_stuck:D1"}
    assert (
        incident_of(Finding.objects.get(fingerprint="deal_stuck:D1")).category
        == Category.DEAL_STUCK
    )


def test_stuck_threshold_is_a_setting(settings):
    settings.LEDGER_AUDIT_STUCK_DAYS = 3
    ingest("deals", [event("D2", "FUNDED", ago(days=6))])
    full_scan()
    assert open_fingerprints(Detector.DEAL_STUCK) == {"deal_stuck:D2"}


def test_time_passing_makes_the_full_scan_find_a_stuck_deal():
    ingest("deals", [event("D1", "FUNDED", ago(days=6))])
    full_scan()
    assert open_fingerprints() == set()
    detection_run(scope=Scope.full(), now=ago(days=-2))
    assert open_fingerprints() == {"deal_stuck:D1"}


# grouping: one incident per problem --------------------------------------------------------
def test_a_burst_of_50_duplicate_keys_is_one_sev0_listing_50_keys():
    items = []
    for i in range(50):
        items += [entry(f"D{i}", key=f"K{i}"), entry(f"D{i}", key=f"K{i}")]
    ingest("ledger-entries", items)
    detection_process_pending()
    incidents = list(Incident.objects.all())
    assert len(incidents) == 1
    incident = incidents[0]
    assert (incident.severity, incident.category) == (Severity.SEV0, Category.DUPLICATE_LEDGER)
    assert len(incident.affected_deals) == 50
    row = TimelineEntry.objects.get(incident=incident, kind=TimelineKind.FINDING)
    assert len(row.data["keys"]) == 50
    assert all(f"K{i}:" in row.message for i in range(50))
    assert Finding.objects.filter(incident=incident).count() == 50


def test_later_duplicates_attach_to_the_open_incident():
    ingest("ledger-entries", [entry("D1", key="K1"), entry("D1", key="K1")])
    detection_process_pending()
    ingest("ledger-entries", [entry("D2", key="K2"), entry("D2", key="K2")])
    detection_process_pending()
    assert Incident.objects.count() == 1
    assert sorted(Incident.objects.get().affected_deals) == ["D1", "D2"]
    assert TimelineEntry.objects.filter(kind=TimelineKind.FINDING).count() == 2


def test_incremental_scope_leaves_other_findings_alone():
    ingest("deals", [event("D1", "FUNDED", ago(days=9))])
    full_scan()
    detection_run(scope=Scope.of(deal_ids=["D-other"]))
    assert open_fingerprints() == {"deal_stuck:D1"}
    ingest("deals", [event("D1", "RELEASED", ago(minutes=1))])
    detection_run(scope=Scope.of(deal_ids=["D1"]))
    assert open_fingerprints() == set()


def test_findings_keep_first_seen_and_refresh_last_seen():
    ingest("deals", [event("D1", "FUNDED", ago(days=9))])
    detection_run(scope=Scope.full(), now=ago(minutes=10))
    detection_run(scope=Scope.full())
    finding = Finding.objects.get()
    assert finding.last_seen - finding.first_seen >= timedelta(minutes=9)
    assert Incident.objects.count() == 1
