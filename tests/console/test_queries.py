"""The dashboard and the incident page run the same number of queries with 10 and with 5,000
incidents (lists are capped, counts are aggregates, nothing per row)."""

import pytest
from django.test import Client

from incidents.models import Incident
from ledger_audit.services import export_request
from tests.incidents.factories import bulk_incidents

pytestmark = pytest.mark.django_db


def _pages(user, sev0: Incident) -> dict[str, tuple[Client, str]]:
    client = Client()
    client.force_login(user)
    return {
        "dashboard": (client, "/admin/"),
        "incident page": (client, f"/admin/incidents/incident/{sev0.pk}/change/"),
    }


def _warm(pages) -> None:
    for client, url in pages.values():
        response = client.get(url)
        assert response.status_code == 200, response.content[:1000]


def _count(pages, django_assert_num_queries, expected=None) -> dict[str, int]:
    counts = {}
    for name, (client, url) in pages.items():
        client.get(url)  # warm (session, permissions, pilot config cache)
        if expected is None:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts[name] = len(ctx.captured_queries)
        else:
            with django_assert_num_queries(expected[name]):
                assert client.get(url).status_code == 200
            counts[name] = expected[name]
    return counts


@pytest.mark.parametrize("role", ["operator", "coordinator"])
def test_constant_queries_with_10_and_5000_incidents(
    role, request, sev0, roster, resume_request, django_assert_num_queries
):
    user = request.getfixturevalue(role)
    export_request(incident=sev0, actor=request.getfixturevalue("operator"))
    bulk_incidents(10)
    pages = _pages(user, sev0)
    _warm(pages)
    small = _count(pages, django_assert_num_queries)
    bulk_incidents(4990)
    assert Incident.objects.count() >= 5000
    _count(pages, django_assert_num_queries, expected=small)  # equality, page by page
    assert small["dashboard"] <= 30, small
    assert small["incident page"] <= 60, small
