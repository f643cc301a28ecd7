"""Incident numbers are unique and gap-free with concurrent creators on real connections."""

import threading

import pytest
from django.db import connection, transaction

from incidents.enums import Category, Severity, Source
from incidents.models import Incident
from incidents.services import incident_open
from tests.incidents.factories import open_incident

CREATORS = 8
PER_CREATOR = 5


def _run_concurrently(work) -> list[BaseException]:
    barrier = threading.Barrier(CREATORS)
    errors: list[BaseException] = []

    def runner(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; close it

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(CREATORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_numbers_gap_free_with_8_concurrent_creators():
    assert connection.vendor == "postgresql"

    def work(i: int) -> None:
        for j in range(PER_CREATOR):
            incident_open(
                title=f"creator {i} incident {j}",
                severity=Severity.SEV2,
                category=Category.OTHER,
                actor=None,
                source=Source.DETECTOR,
            )

    errors = _run_concurrently(work)
    assert errors == []
    numbers = sorted(Incident.objects.values_list("number", flat=True))
    assert numbers == list(range(1, CREATORS * PER_CREATOR + 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_one_alert_open_one_incident():
    def work(i: int) -> None:
        incident_open(
            title="Duplicate ledger entries",
            severity=Severity.SEV0,
            category=Category.DUPLICATE_LEDGER,
            actor=None,
            source=Source.DETECTOR,
            affected_deals=[f"D-{i}"],
            dedup_key="dup:K-1",
        )

    errors = _run_concurrently(work)
    assert errors == []
    incident = Incident.objects.get()
    assert incident.number == 1
    assert sorted(incident.affected_deals) == sorted(f"D-{i}" for i in range(CREATORS))


@pytest.mark.django_db
def test_rolled_back_opening_gives_its_number_back():
    def failing_caller() -> None:
        with transaction.atomic():
            open_incident()
            raise RuntimeError("caller's change failed")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert not Incident.objects.exists()
    assert open_incident().number == 1
    assert open_incident().number == 2
