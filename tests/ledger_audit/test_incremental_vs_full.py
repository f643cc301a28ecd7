"""Incremental detection (per batch, on what it touched) and the full scan agree."""

import itertools
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.detectors import DETECTORS, Scope
from ledger_audit.services import detection_process_pending, detection_run
from tests.ledger_audit.helpers import ingest, open_fingerprints

DEALS = [f"D{i}" for i in range(5)]
KEYS = [f"K{i}" for i in range(4)]
STATES = ["FUNDED", "INSPECTION", "ISSUE", "RELEASED", "REFUNDED"]
# Offsets (minutes ago) far from every threshold, so seconds of test time cannot flip a result.
AGO = [1, 60, 60 * 24, 60 * 24 * 9]
FUTURE = [-60, 30, 60 * 3]  # negative: in the future

deal = st.sampled_from(DEALS)
events = st.lists(
    st.tuples(deal, st.sampled_from(STATES), st.sampled_from(AGO)), min_size=1, max_size=6
).map(lambda xs: ("deals", [("event", *x) for x in xs]))
entries = st.lists(
    st.tuples(
        deal,
        st.sampled_from(KEYS + ["u"] * 4),
        st.sampled_from(["hold", "release", "refund"]),
        st.sampled_from(["50", "100", "0", "-5"]),
        st.sampled_from(["EUR", "EUR", "EUR", "USD"]),
    ),
    min_size=1,
    max_size=6,
).map(lambda xs: ("ledger-entries", [("entry", *x) for x in xs]))
timers = st.lists(
    st.tuples(
        deal,
        st.integers(0, 1),
        st.sampled_from(FUTURE),
        st.sampled_from(["running", "expired", "cancelled", "fired"]),
    ),
    min_size=1,
    max_size=4,
).map(lambda xs: ("timers", [("timer", *x) for x in xs]))
disputes = st.lists(
    st.tuples(
        deal,
        st.integers(0, 2),
        st.sampled_from(["open", "resolved"]),
    ),
    min_size=1,
    max_size=3,
).map(lambda xs: ("disputes", [("dispute", *x) for x in xs]))
feeds = st.lists(st.one_of(events, entries, timers, disputes), min_size=1, max_size=8)


def build(batch, now, counter):
    kind, raw = batch
    items = []
    for spec in raw:
        if spec[0] == "event":
            _, d, state, minutes = spec
            at = now - timedelta(minutes=minutes)
            items.append({"deal_id": d, "state": state, "occurred_at": at.isoformat()})
        elif spec[0] == "entry":
            _, d, key, kind_, amount, currency = spec
            n = next(counter)
            items.append(
                {
                    "entry_id": f"E{n}",
                    "deal_id": d,
                    "idempotency_key": key if key != "u" else f"unique-{n}",
                    "kind": kind_,
                    "amount": amount,
                    "currency": currency,
                    "created_at": now.isoformat(),
                }
            )
        elif spec[0] == "timer":
            _, d, slot, minutes, status = spec
            items.append(
                {
                    "timer_id": f"T-{d}-{slot}",
                    "deal_id": d,
                    "kind": "inspection",
                    "expires_at": (now - timedelta(minutes=minutes)).isoformat(),
                    "status": status,
                }
            )
        else:
            _, d, slot, status = spec
            opened = now - timedelta(minutes=AGO[slot + 1])  # fixed per dispute id
            items.append(
                {
                    "dispute_id": f"X-{d}-{slot}",
                    "deal_id": d,
                    "opened_at": opened.isoformat(),
                    "ttl_seconds": 1800,
                    "status": status,
                }
            )
    return kind, items


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=feeds)
def test_incremental_detection_agrees_with_the_full_scan(db, batches):
    now = timezone.now()
    counter = itertools.count()
    with transaction.atomic():
        for batch in batches:
            kind, items = build(batch, now, counter)
            ingest(kind, items)
            detection_process_pending()  # what the task does right after the batch commits
        incremental = open_fingerprints()
        expected = {
            p.fingerprint for detect in DETECTORS.values() for p in detect(Scope.full(), now)
        }
        assert incremental == expected
        result = detection_run(scope=Scope.full())
        assert (result.opened, result.cleared) == (0, 0)
        transaction.set_rollback(True)
