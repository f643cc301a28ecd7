"""List and change pages keep the same query count at 10 and at 1,000 incidents."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident
from tests.incidents.factories import bulk_incidents

pytestmark = pytest.mark.django_db


def _count(call) -> int:
    call()  # warm caches (permissions, content types, sessions)
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def _pages(operator, client_for, client):
    api = client_for(operator)
    client.force_login(operator)
    newest = Incident.objects.order_by("-number").first()
    assert newest is not None
    return {
        "api list": lambda: api.get("/api/v1/incidents/?limit=500"),
        "api detail": lambda: api.get(f"/api/v1/incidents/{newest.number}/"),
        "admin changelist": lambda: client.get("/admin/incidents/incident/"),
        "admin change": lambda: client.get(f"/admin/incidents/incident/{newest.pk}/change/"),
        "admin timeline": lambda: client.get("/admin/incidents/timelineentry/"),
    }


def test_query_counts_do_not_grow_with_incidents(operator, client_for, client):
    bulk_incidents(10)
    small = {name: _count(call) for name, call in _pages(operator, client_for, client).items()}
    bulk_incidents(990)
    assert Incident.objects.count() == 1000
    large = {name: _count(call) for name, call in _pages(operator, client_for, client).items()}
    assert large == small
    assert max(small.values()) <= 25, small
