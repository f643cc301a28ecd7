"""Changelists of tables that grow with the pilot never scan the whole table for a filter or a
count: no SELECT DISTINCT, and every COUNT is over a LIMITed subquery."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.enums import Category, Severity, Source
from incidents.services import incident_open

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/incidents/incident/",
    "/admin/incidents/incident/?escalation_level=1",
    "/admin/incidents/timelineentry/",
    "/admin/incidents/notification/",
    "/admin/incidents/escalation/",
    "/admin/core/auditevent/",
]


@pytest.mark.parametrize("url", PAGES)
def test_changelist_runs_no_whole_table_distinct_or_count(url: str) -> None:
    for n in range(3):
        incident_open(
            title=f"t{n}",
            severity=Severity.SEV2,
            category=Category.OTHER,
            actor=None,
            source=Source.PERSON,
        )
    client = Client()
    client.force_login(User.objects.create_superuser("root", "r@example.test", "pw"))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not [s for s in sqls if "DISTINCT" in s.upper()]
    counts = [s for s in sqls if "COUNT(" in s.upper()]
    assert all("LIMIT" in s.upper() for s in counts), counts
