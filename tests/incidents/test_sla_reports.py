"""The SLA report API and admin page, /metrics, the sweep heartbeat in /healthz/, and the
escalation policy edited by the decision owner only (audited)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from core.roles import Role
from incidents.enums import Severity
from incidents.models import EscalationRule, OnCallShift, SweepHeartbeat
from incidents.services import incident_acknowledge, incident_resolve
from incidents.services.escalation import sla_sweep
from incidents.services.roster import oncall_rotation_generate, sla_config_save
from tests.incidents.factories import open_incident, roster_member

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def _worked(operator, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        fast = open_incident(severity=Severity.SEV0, actor=operator)
        slow = open_incident(title="Blocked", severity=Severity.SEV1, actor=operator)
        open_incident(title="Never acked", severity=Severity.SEV1, actor=operator)
        clock.shift(timedelta(minutes=5))
        incident_acknowledge(incident=fast, actor=operator)
        clock.shift(timedelta(minutes=5))
        incident_resolve(incident=fast, actor=engineer)  # 10 min: in time
        clock.shift(timedelta(minutes=80))
        incident_acknowledge(incident=slow, actor=operator)  # 90 min: late
        clock.shift(timedelta(minutes=30))
        incident_resolve(incident=slow, actor=engineer)  # 120 min: late


def test_sla_report_api(operator, engineer, client_for):
    _worked(operator, engineer)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        response = client_for(operator).get("/api/v1/reports/sla/?from=2025-03-01&to=2025-03-31")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"]) == ("2025-03-01", "2025-03-31")
    assert body["mtta_seconds"] == (5 * 60 + 90 * 60) / 2
    assert body["mttr_seconds"] == (10 * 60 + 120 * 60) / 2
    sev0, sev1 = body["per_severity"]["SEV0"], body["per_severity"]["SEV1"]
    assert (sev0["count"], sev0["acknowledged_in_time"], sev0["resolved_in_time"]) == (1, 1, 1)
    assert sev0["compliance"] == 1.0
    assert (sev1["count"], sev1["acknowledged_in_time"], sev1["acknowledged_late"]) == (2, 0, 2)
    assert (sev1["resolved_late"], sev1["compliance"]) == (1, 0.0)
    assert body["per_severity"]["SEV3"]["compliance"] is None


def test_sla_report_refuses_bad_dates_and_anonymous(operator, client_for):
    client = client_for(operator)
    assert client.get("/api/v1/reports/sla/?from=2025-03-31&to=2025-03-01").status_code == 400
    assert "from" in client.get("/api/v1/reports/sla/?from=nope").json()["error"]["fields"]
    assert Client().get("/api/v1/reports/sla/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("from=0001-01-01&to=0001-01-31", "from", "out of range"),
        ("to=0001-01-03", "to", "out of range"),
        ("from=9999-12-01&to=9999-12-31", "to", "out of range"),
        ("from=9999-12-31", "from", "out of range"),
        ("from=2024-01-01&to=2025-03-31", "to", "at most 366 days"),
        ("from=2025-02-30", "from", "YYYY-MM-DD"),
    ],
)
def test_sla_report_refuses_out_of_range_and_overlong_periods(
    operator, client_for, query, field, words
):
    response = client_for(operator).get(f"/api/v1/reports/sla/?{query}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert words in error["message"]
    assert field in error["fields"]


def test_sla_report_accepts_a_full_year(operator, client_for):
    response = client_for(operator).get("/api/v1/reports/sla/?from=2024-03-31&to=2025-03-31")
    assert response.status_code == 200, response.content
    assert (response.json()["from"], response.json()["to"]) == ("2024-03-31", "2025-03-31")


def test_admin_sla_page_warns_and_shows_the_default_period(operator):
    client = Client()
    client.force_login(operator)
    response = client.get(reverse("admin:incidents_sla_report") + "?start=0001-01-01&end=nope")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The period is out of range" in html  # the first of the two problems
    today = timezone.localdate()
    start = today - timedelta(days=29)
    assert response.context["report"] == {"from": start, "to": today}


def test_admin_sla_page(operator, engineer):
    _worked(operator, engineer)
    client = Client()
    client.force_login(operator)
    response = client.get(
        reverse("admin:incidents_sla_report") + "?start=2025-03-01&end=2025-03-31"
    )
    assert response.status_code == 200
    assert b"SLA metrics" in response.content
    assert b"50.0 %" not in response.content  # SEV0 100 %, SEV1 0 %
    assert b"100.0 %" in response.content
    assert b">0.0 %<" in response.content


def test_metrics_needs_token_or_allowed_address(operator, engineer, settings):
    _worked(operator, engineer)
    settings.METRICS_TOKEN = "tok-123"
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert Client(REMOTE_ADDR="10.0.0.9").get("/metrics").status_code == 403
    wrong = Client(REMOTE_ADDR="10.0.0.9").get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    ok = Client(REMOTE_ADDR="10.0.0.9").get("/metrics", HTTP_AUTHORIZATION="Bearer tok-123")
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain; version=0.0.4")
    text = ok.content.decode()
    assert 'pcp_incidents_open{level="1",severity="SEV1"} 1' in text
    assert 'pcp_incident_deadline_breaches_total{kind="acknowledge"} 1' in text
    # Resolving after the escalation point is the runbook's reason to escalate, not a breach.
    assert 'pcp_incident_deadline_breaches_total{kind="resolve"}' not in text
    assert "# TYPE pcp_sla_sweep_lag_seconds gauge" in text
    assert 'pcp_roster_members{level="1"} 0' in text
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


def test_healthz_reports_a_dead_sweep(client, settings):
    settings.SLA_SWEEP_SECONDS = 30
    SweepHeartbeat.objects.filter(pk=1).delete()
    body = client.get("/healthz/").json()
    assert body["status"] == "degraded"
    assert "never run" in body["checks"]["sla_sweep"]
    sla_sweep()
    body = client.get("/healthz/").json()
    assert body["checks"]["sla_sweep"] == "ok"
    with time_machine.travel(timezone.now() + timedelta(seconds=91)):
        body = client.get("/healthz/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["sla_sweep"].startswith("error: the SLA sweep last ran")


def test_escalation_policy_is_edited_by_the_decision_owner_only_and_audited(owner, coordinator):
    rule = EscalationRule.objects.get(severity="SEV0", trigger="unresolved_after")
    admin_url = reverse("admin:incidents_escalationrule_change", args=[rule.pk])
    client = Client()
    client.force_login(coordinator)
    assert client.get(admin_url).status_code == 200  # may look
    data = {
        "name": rule.name,
        "position": rule.position,
        "severity": "SEV0",
        "trigger": "unresolved_after",
        "after_minutes": 10,
        "action": "escalate",
        "level": 2,
        "criterion": rule.criterion,
        "active": "on",
    }
    assert client.post(admin_url, data).status_code == 403
    rule.refresh_from_db()
    assert rule.after_minutes == 15

    client.force_login(owner)
    response = client.post(admin_url, data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.after_minutes == 10
    event = AuditEvent.objects.get(action="escalationrule.change")
    assert event.actor == owner
    assert event.data == {"before": {"after_minutes": 15}, "after": {"after_minutes": 10}}

    rule.after_minutes = 5
    with pytest.raises(Exception, match="may not change"):
        sla_config_save(instance=rule, actor=coordinator, changed=["after_minutes"])


def test_edited_rule_changes_new_deadlines(owner, operator):
    rule = EscalationRule.objects.get(severity="SEV0", trigger="unresolved_after")
    rule.after_minutes = 10
    sla_config_save(instance=rule, actor=owner, changed=["after_minutes"])
    with time_machine.travel(T0, tick=False):
        incident = open_incident(severity=Severity.SEV0, actor=operator)
    assert incident.escalation_due_at == T0 + timedelta(minutes=10)


def test_weekly_rotation(coordinator, make_member):
    people = [roster_member(make_member(Role.ENGINEER), 2) for _ in range(3)]
    shifts = oncall_rotation_generate(
        level=2, members=people, starts_at=T0, weeks=5, actor=coordinator
    )
    assert [s.member_id for s in shifts] == [p.pk for p in (people * 2)[:5]]
    assert shifts[1].starts_at == T0 + timedelta(weeks=1) == shifts[0].ends_at
    again = oncall_rotation_generate(
        level=2, members=people, starts_at=T0, weeks=5, actor=coordinator
    )
    assert [s.pk for s in again] == [s.pk for s in shifts]  # idempotent
    assert OnCallShift.objects.count() == 5
    assert AuditEvent.objects.filter(action="oncallshift.rotation_generate").count() == 2


def test_rotation_admin_page(coordinator, make_member, operator):
    people = [roster_member(make_member(Role.OPERATOR), 1) for _ in range(2)]
    client = Client()
    client.force_login(operator)
    assert client.get(reverse("admin:incidents_oncallshift_rotation")).status_code == 403
    client.force_login(coordinator)
    url = reverse("admin:incidents_oncallshift_rotation")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "level": 1,
            "members": [people[1].pk, people[0].pk],
            "starts_at": "2025-03-03 09:00:00",
            "weeks": 2,
        },
    )
    assert response.status_code == 302
    members = list(OnCallShift.objects.order_by("starts_at").values_list("member_id", flat=True))
    assert members == [people[1].pk, people[0].pk]


def test_shift_takes_its_members_level_and_is_audited(coordinator, engineer):
    member = roster_member(engineer, 2)
    shift = OnCallShift(member=member, starts_at=T0, ends_at=T0 + timedelta(days=7))
    sla_config_save(instance=shift, actor=coordinator)
    shift.refresh_from_db()
    assert shift.level_id == 2
    assert AuditEvent.objects.filter(action="oncallshift.create", actor=coordinator).exists()
