"""A title is one line at every entry point: a person's typing (API create and PATCH, the admin
add and change forms) is refused naming the field and nothing is stored; text the system composed
(detectors) is folded; and an email still goes out for an old row holding a line break."""

from typing import Any

import pytest
from django.core import mail

from core.roles import Role
from core.text import is_one_line
from incidents.enums import Severity, Source
from incidents.models import Incident, Notification
from incidents.services import incident_update_log
from incidents.services.notify import notification_deliver
from ledger_audit.enums import Detector
from ledger_audit.models import Finding, LedgerEntry
from tests.incidents.factories import open_incident, roster_member
from tests.ledger_audit.factories import entry
from tests.ledger_audit.helpers import full_scan, incident_of, ingest

pytestmark = pytest.mark.django_db

BAD_TITLES = [
    "Deals paid twice\nBcc: attacker@example.com",
    "carriage\rreturn",
    "tab\there",
    "escape\x1b[31mred",
    "next\x85line",
    "line\u2028separator",
    "bidi \u202eoverride",
]


def _body(title: str) -> dict[str, Any]:
    return {"title": title, "severity": "SEV1", "category": "other"}


@pytest.mark.parametrize("title", BAD_TITLES)
def test_api_create_refuses_a_title_that_is_not_one_line(operator, client_for, title) -> None:
    response = client_for(operator).post("/api/v1/incidents/", _body(title), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error.get("fields", {})) == ["title"], error
    assert Incident.objects.count() == 0


def test_api_create_keeps_a_plain_title_and_trims_a_trailing_newline(operator, client_for):
    api = client_for(operator)
    body = _body("Refunds stuck — D-1 “quoted” 🚨\n")
    response = api.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 201, response.content
    assert Incident.objects.get().title == "Refunds stuck — D-1 “quoted” 🚨"


@pytest.mark.parametrize("title", BAD_TITLES[:3])
def test_api_patch_refuses_a_title_that_is_not_one_line(operator, client_for, title) -> None:
    incident = open_incident(actor=operator, title="Original")
    response = client_for(operator).patch(
        f"/api/v1/incidents/{incident.number}/", {"title": title, "impact": "x"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["title"]
    incident.refresh_from_db()
    assert (incident.title, incident.impact) == ("Original", "")


def test_admin_add_form_shows_the_rule_beside_the_title(operator, client) -> None:
    client.force_login(operator)
    response = client.post(
        "/admin/incidents/incident/add/",
        {**_body("Deal stuck\r\nBcc: x@example.com"), "description": "", "impact": ""},
    )
    assert response.status_code == 200  # the form again, with the typed text
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["title"]
    assert "one line" in errors["title"][0]
    assert Incident.objects.count() == 0


def test_admin_change_form_refuses_a_title_with_a_newline(operator, client) -> None:
    incident = open_incident(actor=operator, title="Original")
    client.force_login(operator)
    fields = ("description", "impact", "root_cause", "resolution", "prevention")
    response = client.post(
        f"/admin/incidents/incident/{incident.pk}/change/",
        {"title": "Two\nlines", "lessons_learned": "", **dict.fromkeys(fields, "")},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["title"]
    incident.refresh_from_db()
    assert incident.title == "Original"


def test_the_service_refuses_for_a_person_whatever_the_adapter(operator) -> None:
    # An entry point without the form or serializer check still meets the rule.
    from core.errors import DomainError

    incident = open_incident(actor=operator, title="Original")
    with pytest.raises(DomainError) as refused:
        incident_update_log(incident=incident, actor=operator, changes={"title": "a\x00b"})
    assert refused.value.fields == {"title": [refused.value.message]}
    with pytest.raises(DomainError):
        open_incident(actor=operator, title="a\nb", source=Source.PERSON)
    assert list(Incident.objects.values_list("title", flat=True)) == ["Original"]


def test_system_composed_titles_are_folded(make_member) -> None:
    incident = open_incident(
        actor=None, source=Source.DETECTOR, title="Deal D-1\nBcc: x@example.com\tstuck"
    )
    assert incident.title == "Deal D-1 Bcc: x@example.com stuck"
    # An alert relayed by a monitoring account opens whatever its labels hold.
    relayed = open_incident(
        actor=make_member(Role.MONITORING), source=Source.MONITORING, title="HighErrors\r\n5xx"
    )
    assert relayed.title == "HighErrors 5xx"


def test_a_detector_over_a_key_stored_with_a_newline_writes_one_line_text() -> None:
    ingest("ledger-entries", [entry("D1", key="K", entry_id="E1"), entry("D2", key="K")])
    # An old row: the feed refuses such a key today, rows stored before it did remain.
    LedgerEntry.objects.update(idempotency_key="K\r\nBcc: x@example.com")
    full_scan()
    finding = Finding.objects.get(detector=Detector.DUPLICATE_KEY)
    assert finding.title == "Idempotency key K Bcc: x@example.com on 2 ledger entries"
    assert is_one_line(incident_of(finding).title)


def test_an_email_goes_out_for_a_notification_row_stored_with_a_newline(operator) -> None:
    roster_member(operator, 1, email="olga@example.com")
    incident = open_incident(severity=Severity.SEV1, actor=operator, title="Refund twice")
    row = Notification.objects.get(incident=incident, channel="email")
    # A row written before subjects were folded.
    Notification.objects.filter(pk=row.pk).update(subject="[SEV1] Refund\r\ntwice\nBcc: a@b.c")
    mail.outbox.clear()
    outcome = notification_deliver(notification_id=row.pk)
    assert outcome.status == "sent"
    assert [m.subject for m in mail.outbox] == ["[SEV1] Refund twice Bcc: a@b.c"]
    assert mail.outbox[0].bcc == []
