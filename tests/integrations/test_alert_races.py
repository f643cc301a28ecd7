"""Deliveries of one alert group at the same moment (Alertmanager's HA peers both send, or a
retry overtakes the original) on real parallel connections: still one incident, nothing lost."""

import threading

import pytest
from django.db import connection

from incidents.models import Incident, IncidentAlert
from incidents.services import Alert, AlertPayload, alerts_receive

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 8


def _payload(i: int) -> AlertPayload:
    alert = Alert(
        status="firing",
        labels={"alertname": "Race", "severity": "warning", "instance": f"i{i}"},
        annotations={"summary": "racing"},
        starts_at=None,
        ends_at=None,
        fingerprint=f"race{i:012d}",
    )
    return AlertPayload(
        sender="alertmanager", group_key="{}:{alertname=Race}", status="firing", alerts=[alert]
    )


def test_parallel_deliveries_of_one_group_open_one_incident(monitoring) -> None:
    barrier = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []
    created: list[bool] = []

    def deliver(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes = alerts_receive(payload=_payload(i), actor=monitoring)
            created.append(outcomes[0].created)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    print(f"alert race: {CLIENTS} parallel deliveries, {Incident.objects.count()} incident(s)")
    assert Incident.objects.count() == 1
    assert sorted(created) == [False] * (CLIENTS - 1) + [True]
    assert IncidentAlert.objects.count() == CLIENTS
    assert Incident.objects.get().timeline.filter(kind="alert").count() == CLIENTS
