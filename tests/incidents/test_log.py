"""The incident log in the runbook's template: a fully worked SEV0 against a golden file, the
API and admin downloads, and the period export."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User

from incidents.enums import BoundAction, Category, EscalationCriterion, Severity
from incidents.log import human_duration
from incidents.models import Incident
from incidents.selectors import incident_log_markdown
from incidents.services import (
    incident_acknowledge,
    incident_add_note,
    incident_bound_action_done,
    incident_close,
    incident_escalate,
    incident_resolve,
    incident_update_log,
    timeline_record,
)
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden" / "incident_log_sev0.md"
T0 = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def _named(user: User, first: str, last: str) -> User:
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def work_sev0(operator: User, engineer: User, coordinator: User) -> Incident:
    """The runbook's SEV0 flow, minute by minute."""
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(
            title="Duplicate ledger entries for one idempotency key",
            severity=Severity.SEV0,
            category=Category.DUPLICATE_LEDGER,
            actor=operator,
            description="Two RELEASE ledger entries share idempotency key K-42 on deal D-1001.",
            impact="Deal D-1001 released twice (EUR 1,250.00); pilot trust at risk.",
            affected_deals=["D-1001"],
        )
        clock.shift(timedelta(minutes=4))
        incident_acknowledge(incident=incident, actor=operator)
        clock.shift(timedelta(minutes=2))
        incident_bound_action_done(
            incident=incident,
            action=BoundAction.DISABLE_PILOT,
            actor=operator,
            note="pilot.enabled=false (revision 7)",
        )
        timeline_record(
            incident=incident,
            kind="config_changed",
            actor=operator,
            message="Pilot disabled (revision 7).",
        )
        clock.shift(timedelta(minutes=5))
        incident_bound_action_done(
            incident=incident, action=BoundAction.EXPORT_TIMELINES, actor=operator
        )
        clock.shift(timedelta(minutes=9))
        incident_bound_action_done(
            incident=incident, action=BoundAction.IDENTIFY_KEYS, actor=operator
        )
        incident_escalate(
            incident=incident,
            actor=operator,
            criterion=EscalationCriterion.NOT_RESOLVED_IN_TIME,
        )
        clock.shift(timedelta(minutes=30))
        incident_add_note(incident=incident, actor=engineer, text="Race in the idempotency check.")
        clock.shift(timedelta(minutes=35))
        incident_resolve(incident=incident, actor=engineer, resolution="Unique index on the key.")
        clock.shift(timedelta(hours=20))
        incident_update_log(
            incident=incident,
            actor=coordinator,
            changes={
                "root_cause": "Two workers passed the idempotency check before either wrote.",
                "prevention": "Test idempotency in staging; monitor duplicate entry metrics.",
                "lessons_learned": "Enforce invariants in the database, not only in code.",
            },
        )
        clock.shift(timedelta(minutes=10))
        incident_close(incident=incident, actor=coordinator)
    incident.refresh_from_db()
    return incident


def test_log_of_a_fully_worked_sev0_matches_the_golden_file(make_member):
    from core.roles import Role

    operator = _named(make_member(Role.OPERATOR, "olga"), "Olga", "Operator")
    engineer = _named(make_member(Role.ENGINEER, "emil"), "Emil", "Engineer")
    coordinator = _named(make_member(Role.COORDINATOR, "cora"), "Cora", "Coordinator")
    incident = work_sev0(operator, engineer, coordinator)
    assert incident.label == "Incident #001"
    text = incident_log_markdown(incident=incident)
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert text.startswith("## Incident #001 — Duplicate ledger entries for one idempotency key\n")
    assert "**Resolution Time**: 1 h 25 min\n" in text


def test_log_downloads_api_and_admin(operator, client_for, client):
    incident = open_incident(actor=operator, title="Timer gone", severity=Severity.SEV1)
    response = client_for(operator).get(f"/api/v1/incidents/{incident.number}/log.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("## Incident #001 — Timer gone\n\n**Date**: ")
    assert "**Resolution Time**: unresolved" in body
    client.force_login(operator)
    admin_response = client.get(f"/admin/incidents/incident/{incident.pk}/log.md")
    assert admin_response.status_code == 200
    assert admin_response.content.decode() == body


def test_log_accepts_markdown_accept_header(operator, client_for):
    incident = open_incident(actor=operator)
    response = client_for(operator).get(
        f"/api/v1/incidents/{incident.number}/log.md", HTTP_ACCEPT="text/markdown"
    )
    assert response.status_code == 200


def test_period_export_is_one_document(operator, client_for):
    with time_machine.travel(datetime(2025, 1, 10, 9, 0, tzinfo=UTC), tick=False):
        open_incident(title="Before", actor=operator)
    with time_machine.travel(datetime(2025, 2, 1, 9, 0, tzinfo=UTC), tick=False):
        open_incident(title="Inside one", actor=operator)
    with time_machine.travel(datetime(2025, 2, 28, 23, 30, tzinfo=UTC), tick=False):
        open_incident(title="Inside two", actor=operator, severity=Severity.SEV3)
    client = client_for(operator)
    response = client.get("/api/v1/incidents/log.md?from=2025-02-01&to=2025-02-28")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith("# Incident Log 2025-02-01 to 2025-02-28\n")
    assert "## Incident #002 — Inside one" in text
    assert "## Incident #003 — Inside two" in text
    assert "Before" not in text
    assert text.index("#002") < text.index("#003")
    bad = client.get("/api/v1/incidents/log.md?from=2025-03-01&to=2025-02-01")
    assert bad.status_code == 400
    assert "to" in bad.json()["error"]["fields"]
    missing = client.get("/api/v1/incidents/log.md")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) == {"from", "to"}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=0001-01-01&to=0001-01-02", "out of range"),
        ("from=9999-12-30&to=9999-12-31", "out of range"),
        ("from=2020-01-01&to=2025-02-28", "at most 366 days"),
    ],
)
def test_period_export_refuses_unusable_periods(operator, client_for, query, words):
    response = client_for(operator).get(f"/api/v1/incidents/log.md?{query}")
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=85), "1 h 25 min"),
        (timedelta(seconds=59), "0 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(days=1, minutes=5), "1 d 5 min"),
        (timedelta(days=2, hours=3, minutes=1, seconds=30), "2 d 3 h 1 min"),
    ],
)
def test_human_duration(delta, text):
    assert human_duration(delta) == text


def _headings_and_fields(document: str) -> tuple[list[str], list[str]]:
    """(headings, strong labels) as a CommonMark parser reads the document."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(document)
    headings = [
        "".join(c.content for c in tokens[i + 1].children or [])
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]
    strong = []
    for token in tokens:
        children = token.children or []
        strong += [
            children[i + 1].content for i, c in enumerate(children) if c.type == "strong_open"
        ]
    return headings, strong


def test_typed_text_cannot_forge_headings_fields_or_html_in_the_log(operator, client_for):
    incident = open_incident(actor=operator, title="Refund <b>twice</b> ## x")
    incident_update_log(
        incident=incident,
        actor=operator,
        changes={
            "description": "Deals paid twice.\n## Incident #999 — fake\n**Resolved By**: Mallory",
            "impact": "<script>alert(1)</script>",
        },
    )
    incident_add_note(incident=incident, actor=operator, text="ok\n\n**Resolution Time**: 0 min")
    text = client_for(operator).get(f"/api/v1/incidents/{incident.number}/log.md").content.decode()
    headings, fields = _headings_and_fields(text)
    assert headings == ["Incident #001 — Refund <b>twice</b> ## x"]
    assert fields == [
        "Date",
        "Severity",
        "Reported By",
        "Resolved By",
        "Resolution Time",
        "Description",
        "Impact",
        "Root Cause",
        "Resolution",
        "Prevention",
        "Lessons Learned",
        "Timeline",
    ]
    assert "<script>" not in text.replace("\\<script\\>", "")
    assert "> Deals paid twice.\n> \\#\\# Incident \\#999 — fake\n" in text
