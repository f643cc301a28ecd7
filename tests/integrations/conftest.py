import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from core.roles import Role


@pytest.fixture
def monitoring(make_member: Callable[..., User]) -> User:
    return make_member(Role.MONITORING)


@pytest.fixture
def am_client(monitoring: User, client_for: Callable[[User], APIClient]) -> APIClient:
    return client_for(monitoring)


def am_alert(
    name: str = "HighErrorRate",
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} is happening", "description": "Look at it."},
        "startsAt": "2026-12-01T10:00:00.000Z",
        "endsAt": "2026-12-01T11:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
        "fingerprint": fingerprint
        or hashlib.sha256(repr((name, sorted(labels.items()))).encode()).hexdigest()[:16],
    }


def am_payload(
    alerts: list[dict[str, Any]], *, group_key: str = '{}:{alertname="HighErrorRate"}'
) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "pcp",
        "status": "firing" if firing else "resolved",
        "alerts": alerts,
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }
