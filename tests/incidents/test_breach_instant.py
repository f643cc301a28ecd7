"""One breach rule (``incidents.selectors.deadline_breached_at``: strictly after the due instant)
read the same by the incident page, the dashboard, the API, the SLA report and /metrics, one
microsecond before the response deadline, at it, and one microsecond after."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from console.selectors.dashboard import dashboard_for
from incidents.enums import Severity
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
INSTANTS = [
    pytest.param(-US, False, id="due-1us"),
    pytest.param(timedelta(0), False, id="due"),
    pytest.param(US, True, id="due+1us"),
]
REPORT = "/api/v1/reports/sla/?from=2025-03-01&to=2025-03-31"


def _metric(text: str, line: str) -> float:
    match = re.search(rf"^{re.escape(line)} (\S+)$", text, re.M)
    assert match, text
    return float(match.group(1))


def _views(incident, user, client_for, settings) -> dict[str, object]:
    """What each reader says about the incident's response deadline, now."""
    settings.METRICS_TOKEN = "metrics-token"
    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    countdown = re.search(r'id="response-countdown"><time class="([^"]*)"', page)
    row = next(r for r in dashboard_for(user=user).incidents if r.incident.pk == incident.pk)
    report = client_for(user).get(REPORT).json()["per_severity"]["SEV0"]
    metrics = browser.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token")
    assert metrics.status_code == 200
    return {
        "page_countdown": countdown is not None and "breached" in countdown.group(1),
        "page_late": 'class="console-gap">late<' in page,
        "dashboard": row.breached,
        "report_late": report["acknowledged_late"],
        "overdue_metric": _metric(metrics.content.decode(), "pcp_incidents_unacknowledged_overdue"),
        "late_metric": _metric(
            metrics.content.decode(), 'pcp_incident_deadline_breaches_total{kind="acknowledge"}'
        ),
    }


@pytest.mark.parametrize(("offset", "breached"), INSTANTS)
def test_an_unacknowledged_incident_at_the_due_instant(
    offset, breached, operator, client_for, settings
):
    with time_machine.travel(T0, tick=False):
        incident = open_incident(severity=Severity.SEV0, actor=operator)
    assert incident.response_due_at == T0 + timedelta(minutes=15)
    with time_machine.travel(incident.response_due_at + offset, tick=False):
        seen = _views(incident, operator, client_for, settings)
    assert seen == {
        "page_countdown": breached,
        "page_late": False,
        "dashboard": breached,
        "report_late": int(breached),
        "overdue_metric": float(breached),
        "late_metric": 0.0,
    }


@pytest.mark.parametrize(("offset", "breached"), INSTANTS)
def test_an_acknowledgement_at_the_due_instant(offset, breached, operator, client_for, settings):
    with time_machine.travel(T0, tick=False):
        incident = open_incident(severity=Severity.SEV0, actor=operator)
    assert incident.escalation_due_at == incident.response_due_at
    with time_machine.travel(incident.response_due_at + offset, tick=False):
        response = client_for(operator).post(f"/api/v1/incidents/{incident.number}/acknowledge/")
        assert response.status_code == 200, response.content
        assert response.json()["acknowledged_late"] is breached  # the API's record
        incident.refresh_from_db()
        seen = _views(incident, operator, client_for, settings)
    assert seen == {
        "page_countdown": False,  # acknowledged: no countdown, the record instead
        "page_late": breached,
        # the dashboard now shows the escalation deadline: a SEV0's is the same instant (15 min)
        "dashboard": breached,
        "report_late": int(breached),
        "overdue_metric": 0.0,
        "late_metric": float(breached),
    }
