from datetime import timedelta
from decimal import Decimal

import pytest

from incidents.enums import Category, Severity
from incidents.models import Incident
from ledger_audit.enums import Detector
from ledger_audit.feed import feed_ledger_entries_ingest
from ledger_audit.models import Deal, DealEvent, DetectionWork, Dispute, Finding, LedgerEntry, Timer
from tests.ledger_audit.factories import ago, dispute, entry, event, timer

pytestmark = pytest.mark.django_db


def test_ledger_entries_are_stored_once_and_replays_are_unchanged(post):
    items = [entry("D1", "hold", "100.50"), entry("D1", "release", "100.5")]
    first = post("ledger-entries", items)
    assert first.status_code == 200, first.json()
    assert first.json() == {"stored": 2, "unchanged": 0}
    again = post("ledger-entries", [*items, entry("D2")])
    assert again.json() == {"stored": 1, "unchanged": 2}
    assert LedgerEntry.objects.count() == 3
    stored = LedgerEntry.objects.get(entry_id=items[0]["entry_id"])
    assert stored.amount == Decimal("100.50")
    assert stored.deal_id == "D1"
    assert Deal.objects.filter(deal_id__in=["D1", "D2"]).count() == 2  # created on first reference
    assert DetectionWork.objects.count() == 2  # one outbox row per batch that stored something


def test_duplicate_idempotency_keys_are_stored_not_refused(post):
    response = post("ledger-entries", [entry("D1", key="same"), entry("D2", key="same")])
    assert response.json() == {"stored": 2, "unchanged": 0}
    assert LedgerEntry.objects.filter(idempotency_key="same").count() == 2


def test_a_bad_item_stores_nothing_and_names_index_and_field(post):
    items = [entry("D1"), entry("D1", amount="12.123456789"), entry("D1"), {"entry_id": "x"}]
    items[2]["currency"] = "eur"
    response = post("ledger-entries", items)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]["items"]
    assert set(fields) == {"1", "2", "3"}
    assert "amount" in fields["1"]
    assert "currency" in fields["2"]
    assert "deal_id" in fields["3"]
    assert "created_at" in fields["3"]
    assert not LedgerEntry.objects.exists()
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 12.5),  # a JSON number, not a decimal string
        ("amount", "NaN"),
        ("amount", "123456789012345"),  # 15 integer digits > 20 - 8
        ("currency", "EURO"),
        ("kind", "withdraw"),
        ("created_at", "2025-01-01T10:00:00"),  # no zone
        ("idempotency_key", ""),
        # Exponents no decimal context holds: the validator must judge them, not crash.
        ("amount", "1e999999999"),
        ("amount", "-1E+999999999999999999"),
        ("amount", "1e-999999999"),
        ("amount", "9" * 70),
    ],
)
def test_invalid_ledger_fields_are_400(post, field, value):
    item = entry("D1")
    item[field] = value
    response = post("ledger-entries", [item])
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]["items"]["0"]


def test_more_than_5000_items_is_413(post):
    response = post("deals", [event(f"D{i}", "FUNDED", ago(minutes=1)) for i in range(5001)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert not DealEvent.objects.exists()


def test_an_object_with_items_is_accepted_and_non_list_refused(feed_client):
    ok = feed_client.post(
        "/api/v1/feed/deals/", {"items": [event("D1", "FUNDED", ago(minutes=3))]}, format="json"
    )
    assert ok.json() == {"stored": 1, "unchanged": 0}
    bad = feed_client.post("/api/v1/feed/deals/", {"deal_id": "x"}, format="json")
    assert bad.status_code == 400


def test_changed_ledger_entry_is_422_nothing_stored_and_a_sev0_finding(post):
    original = entry("D1", "hold", "100.00", entry_id="E-1", key="K-1")
    assert post("ledger-entries", [original]).status_code == 200
    changed = {**original, "amount": "150.00"}
    response = post("ledger-entries", [entry("D9", entry_id="E-new"), changed])
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "changed_items"
    assert body["fields"]["ids"] == ["E-1"]
    assert not LedgerEntry.objects.filter(entry_id="E-new").exists()  # the whole batch refused
    assert LedgerEntry.objects.get(entry_id="E-1").amount == Decimal("100.00")
    finding = Finding.objects.get(detector=Detector.ENTRY_CHANGED)
    assert finding.severity == Severity.SEV0
    assert finding.evidence["changed"]["amount"] == ["100.00000000", "150.00000000"]
    assert finding.incident is not None
    assert finding.incident.severity == Severity.SEV0
    assert finding.incident.category == Category.DATA_INTEGRITY
    assert finding.incident.affected_deals == ["D1"]
    # The platform retries the same refused batch: still 422, no second finding or incident.
    assert post("ledger-entries", [changed]).status_code == 422
    assert Finding.objects.filter(detector=Detector.ENTRY_CHANGED).count() == 1
    assert Incident.objects.count() == 1


def test_changed_entry_within_one_batch_is_422(post):
    a = entry("D1", entry_id="E-1")
    response = post("ledger-entries", [a, {**a, "amount": "1.00"}])
    assert response.status_code == 422
    assert not LedgerEntry.objects.exists()


def test_events_out_of_order_current_state_is_latest_by_occurred_at(post):
    t = ago(hours=5)
    assert post(
        "deals", [event("D1", "INSPECTION", t + timedelta(hours=2), version="")]
    ).json() == {
        "stored": 1,
        "unchanged": 0,
    }
    deal = Deal.objects.get(deal_id="D1")
    assert (deal.state, deal.template_version) == ("INSPECTION", "")
    post(
        "deals",
        [
            event("D1", "FUNDED", t, version="v2"),
            event("D1", "CREATED", t - timedelta(hours=1), "v3"),
        ],
    )
    deal.refresh_from_db()
    assert deal.state == "INSPECTION"
    assert deal.state_since == t + timedelta(hours=2)
    # The first event (by occurred_at) carrying a version sets it once; it never changes.
    assert deal.template_version == "v3"
    post("deals", [event("D1", "RELEASED", t + timedelta(hours=3), version="v9")])
    deal.refresh_from_db()
    assert (deal.state, deal.template_version) == ("RELEASED", "v3")
    # Same event again: unchanged; same identity with another version: 422.
    assert post("deals", [event("D1", "FUNDED", t, version="v2")]).json() == {
        "stored": 0,
        "unchanged": 1,
    }
    assert post("deals", [event("D1", "FUNDED", t, version="v7")]).status_code == 422


def test_timers_upsert_status_but_not_deal_or_kind(post):
    item = timer("D1", ago(minutes=-30), timer_id="T-1")
    assert post("timers", [item]).json() == {"stored": 1, "unchanged": 0}
    assert post("timers", [item]).json() == {"stored": 0, "unchanged": 1}
    assert post("timers", [{**item, "status": "fired"}]).json() == {"stored": 1, "unchanged": 0}
    assert Timer.objects.get(timer_id="T-1").status == "fired"
    refused = post("timers", [{**item, "kind": "dispute"}])
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"]["ids"] == ["T-1"]


def test_disputes_ttl_gives_expiry_and_resolution_upserts(post):
    opened = ago(hours=2)
    item = dispute("D1", opened, ttl_seconds=600, dispute_id="X-1")
    assert post("disputes", [item]).status_code == 200
    stored = Dispute.objects.get(dispute_id="X-1")
    assert (stored.expires_at - stored.opened_at).total_seconds() == 600
    resolved = {**item, "status": "resolved", "resolution": "refund buyer"}
    assert post("disputes", [resolved]).json() == {"stored": 1, "unchanged": 0}
    assert Dispute.objects.get(dispute_id="X-1").resolution == "refund buyer"
    neither = {**item, "dispute_id": "X-2"}
    del neither["ttl_seconds"]
    response = post("disputes", [neither])
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["error"]["fields"]["items"]["0"]


@pytest.mark.parametrize("role_fixture", ["operator", "engineer", "owner", "auditor"])
def test_the_feed_is_refused_to_people(request, client_for, role_fixture):
    client = client_for(request.getfixturevalue(role_fixture))
    response = client.post("/api/v1/feed/ledger-entries/", [entry("D1")], format="json")
    assert response.status_code == 403
    assert not LedgerEntry.objects.exists()


def test_ingest_runs_a_constant_number_of_queries(django_assert_max_num_queries):
    items = [entry(f"D{i % 300}") for i in range(1000)]
    with django_assert_max_num_queries(10):
        result = feed_ledger_entries_ingest(items=items)
    assert result.stored == 1000
    with django_assert_max_num_queries(4):
        assert feed_ledger_entries_ingest(items=items).unchanged == 1000


@pytest.mark.parametrize("opened_at", ["9999-12-31T23:00:00Z", "9999-12-31T23:59:59.999999+00:00"])
def test_a_dispute_whose_expiry_falls_after_year_9999_is_400(post, opened_at):
    item = dispute("D1", ago(minutes=1), ttl_seconds=10**9)
    item["opened_at"] = opened_at
    response = post("disputes", [item])
    assert response.status_code == 400
    assert "9999" in response.json()["error"]["fields"]["items"]["0"]["non_field_errors"][0]
    assert not Dispute.objects.exists()
