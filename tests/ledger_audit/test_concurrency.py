"""Real parallel connections: the feed's "exactly once" holds under concurrent batches."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from core.errors import Unprocessable
from ledger_audit.enums import Detector
from ledger_audit.models import Deal, Finding, LedgerEntry
from tests.ledger_audit.factories import ago, entry, event
from tests.ledger_audit.helpers import ingest

pytestmark = pytest.mark.django_db(transaction=True)


def run_parallel(*calls):
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_same_entry_id_with_two_bodies_at_once_stores_one_and_refuses_the_other():
    for attempt in range(5):
        a = entry("D1", "hold", "10.00", entry_id=f"E-{attempt}")
        b = {**a, "amount": "99.00"}
        results = run_parallel(
            lambda a=a: ingest("ledger-entries", [a]), lambda b=b: ingest("ledger-entries", [b])
        )
        assert sum(isinstance(r, Unprocessable) for r in results) == 1, results
        assert LedgerEntry.objects.filter(entry_id=f"E-{attempt}").count() == 1
    assert Finding.objects.filter(detector=Detector.ENTRY_CHANGED).count() == 5


def test_concurrent_events_of_one_deal_end_in_the_latest_state():
    t = ago(hours=1)
    for n in range(5):
        deal = f"D{n}"
        results = run_parallel(
            lambda d=deal: ingest("deals", [event(d, "FUNDED", t)]),
            lambda d=deal: ingest("deals", [event(d, "INSPECTION", t + timedelta(minutes=5))]),
        )
        assert not any(isinstance(r, Exception) for r in results), results
        assert Deal.objects.get(deal_id=deal).state == "INSPECTION"
