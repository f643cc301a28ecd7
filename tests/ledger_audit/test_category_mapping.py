"""Which runbook incident a detector's finding opens: a dispute past its TTL is SEV1 "Disputes
stuck"; a dispute whose resolutions were tried and refused is Incident 3 (admin cannot resolve
dispute); a deal whose timer expired without the deal moving is Incident 4 (deal stuck, timer not
firing), with its playbook at once."""

from typing import Any

import pytest

from incidents.enums import Category, Severity
from incidents.models import ChecklistStep, Incident
from ledger_audit.enums import Detector
from ledger_audit.models import Dispute, Finding
from ledger_audit.services import detection_process_pending
from tests.ledger_audit.factories import ago, dispute, event, timer
from tests.ledger_audit.helpers import full_scan, incident_of, ingest, open_fingerprints

pytestmark = pytest.mark.django_db

INCIDENT_3_STEPS = [
    "Verify admin role in database",
    "Check role permission logic",
    "Verify UI role check",
    "Fix permission or UI bug",
    "Test with admin user",
]
INCIDENT_4_STEPS = [
    "Check deal state in database",
    "Check timer status",
    "Verify state transition logic",
    "Manually trigger transition (if safe)",
    "Fix underlying issue",
]


def steps_of(incident: Incident, playbook: str) -> list[str]:
    return list(
        ChecklistStep.objects.filter(incident=incident, playbook__slug=playbook)
        .order_by("position")
        .values_list("title", flat=True)
    )


def attempt(at: str, error: str = "resolution refused: 403", **extra: Any) -> dict[str, Any]:
    return {"attempted_at": at, "error": error, **extra}


# A dispute past its TTL ------------------------------------------------------------------------
def test_a_dispute_past_its_ttl_is_the_sev1_disputes_stuck_not_incident_3():
    ingest("disputes", [dispute("D1", ago(hours=2), 3600, dispute_id="X1")])
    full_scan()
    incident = incident_of(Finding.objects.get(fingerprint="dispute_ttl:X1"))
    assert (incident.severity, incident.category) == (Severity.SEV1, Category.DISPUTE_STUCK)
    # Nothing says an admin tried: no Incident 3 and none of its steps.
    assert not Incident.objects.filter(category=Category.ADMIN_CANNOT_RESOLVE_DISPUTE).exists()
    assert steps_of(incident, "admin-cannot-resolve-dispute") == []


# Failed resolution attempts: Incident 3 ----------------------------------------------------
def test_failed_resolution_attempts_open_incident_3_with_its_playbook():
    item = dispute("D1", ago(minutes=10), 3600, dispute_id="X1")  # within its TTL
    item["failed_resolution_attempts"] = [
        attempt("2026-01-02T10:05:00+02:00", "role admin lacks resolve_dispute", by="admin-7"),
        attempt("2026-01-02T07:00:00Z"),
    ]
    ingest("disputes", [item])
    full_scan()
    assert open_fingerprints() == {"dispute_resolution_failed:X1"}
    finding = Finding.objects.get(fingerprint="dispute_resolution_failed:X1")
    assert finding.deal_ids == ["D1"]
    assert finding.evidence["failed_attempts"] == 2
    # Stored in one form: UTC, sorted by time, "by" blank when not given.
    assert finding.evidence["attempts"] == [
        {"attempted_at": "2026-01-02T07:00:00+00:00", "error": "resolution refused: 403", "by": ""},
        {
            "attempted_at": "2026-01-02T08:05:00+00:00",
            "error": "role admin lacks resolve_dispute",
            "by": "admin-7",
        },
    ]
    incident = incident_of(finding)
    assert (incident.severity, incident.category) == (
        Severity.SEV1,
        Category.ADMIN_CANNOT_RESOLVE_DISPUTE,
    )
    assert steps_of(incident, "admin-cannot-resolve-dispute") == INCIDENT_3_STEPS


def test_a_dispute_past_its_ttl_with_failed_attempts_is_both():
    item = dispute("D1", ago(hours=2), 3600, dispute_id="X1")
    item["failed_resolution_attempts"] = [attempt("2026-01-02T07:00:00Z")]
    ingest("disputes", [item])
    full_scan()
    categories = set(Incident.objects.values_list("category", flat=True))
    assert categories == {Category.DISPUTE_STUCK, Category.ADMIN_CANNOT_RESOLVE_DISPUTE}


def test_resolving_the_dispute_clears_the_failed_resolution_finding():
    item = dispute("D1", ago(minutes=10), 3600, dispute_id="X1")
    item["failed_resolution_attempts"] = [attempt("2026-01-02T07:00:00Z")]
    ingest("disputes", [item])
    full_scan()
    assert open_fingerprints() == {"dispute_resolution_failed:X1"}
    ingest("disputes", [{**item, "status": "resolved", "resolution": "refund"}])
    detection_process_pending()
    assert open_fingerprints() == set()


def test_the_same_attempts_again_are_unchanged_and_a_new_one_is_stored():
    item = dispute("D1", ago(minutes=10), 3600, dispute_id="X1")
    item["failed_resolution_attempts"] = [
        attempt("2026-01-02T07:00:00Z", "a"),
        attempt("2026-01-02T08:00:00Z", "b"),
    ]
    assert ingest("disputes", [item]).stored == 1
    # Another order and another zone for the same instants: the same list.
    again = {
        **item,
        "failed_resolution_attempts": [
            attempt("2026-01-02T10:00:00+02:00", "b"),
            attempt("2026-01-02T07:00:00+00:00", "a"),
        ],
    }
    result = ingest("disputes", [again])
    assert (result.stored, result.unchanged) == (0, 1)
    more = {
        **item,
        "failed_resolution_attempts": [
            *item["failed_resolution_attempts"],
            attempt("2026-01-02T09:00:00Z", "c"),
        ],
    }
    assert ingest("disputes", [more]).stored == 1
    stored = Dispute.objects.get(dispute_id="X1").failed_resolution_attempts
    assert [a["error"] for a in stored] == ["a", "b", "c"]
    full_scan()
    assert (
        Finding.objects.get(detector=Detector.DISPUTE_RESOLUTION_FAILED).evidence["failed_attempts"]
        == 3
    )


@pytest.mark.parametrize(
    ("attempts", "says"),
    [
        ("twice", "list"),
        ([{"attempted_at": "2026-01-02T07:00:00Z"}], "Attempt 0"),  # no error
        ([attempt("2026-01-02T07:00:00")], "zone"),
        ([attempt("2026-01-02T07:00:00Z", "   ")], "blank"),
        ([attempt("2026-01-02T07:00:00Z", "x" * 256)], "255"),
        ([{**attempt("2026-01-02T07:00:00Z"), "note": "?"}], "Attempt 0"),  # unknown key
        (["2026-01-02T07:00:00Z"], "Attempt 0"),
        ([attempt("2026-01-02T07:00:00Z")] * 51, "50"),
    ],
)
def test_invalid_failed_resolution_attempts_are_400_and_store_nothing(post, attempts, says):
    good = dispute("D0", ago(minutes=10), 3600, dispute_id="X0")
    bad = dispute("D1", ago(minutes=10), 3600, dispute_id="X1")
    bad["failed_resolution_attempts"] = attempts
    response = post("disputes", [good, bad])
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]["items"]
    assert list(errors) == ["1"]
    assert says in errors["1"]["failed_resolution_attempts"][0]
    assert not Dispute.objects.exists()


def test_failed_resolution_attempts_through_the_api(post):
    item = dispute("D1", ago(minutes=10), 3600, dispute_id="X1")
    item["failed_resolution_attempts"] = [attempt("2026-01-02T07:00:00Z", by="admin-7")]
    response = post("disputes", [item])
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "unchanged": 0}
    detection_process_pending()
    assert Incident.objects.get().category == Category.ADMIN_CANNOT_RESOLVE_DISPUTE


# An expired timer whose deal did not move: Incident 4 at once --------------------------------
def test_an_expired_timer_whose_deal_did_not_move_gets_incident_4_at_once():
    ingest("deals", [event("D1", "INSPECTION", ago(hours=3))])  # hours, not 7 days
    ingest("timers", [timer("D1", ago(hours=2), "expired", timer_id="T1")])
    full_scan()
    assert open_fingerprints(Detector.TRANSITION_BLOCKED) == {"transition_blocked:D1"}
    incident = incident_of(Finding.objects.get(fingerprint="transition_blocked:D1"))
    assert (incident.severity, incident.category) == (Severity.SEV1, Category.DEAL_STUCK)
    assert "timer not firing" in incident.title
    assert steps_of(incident, "deal-stuck") == INCIDENT_4_STEPS
