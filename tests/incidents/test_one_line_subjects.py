"""A line break stored in a title can never silence email paging: the subject is one line."""

import pytest
from django.core import mail

from core.text import is_one_line, one_line
from incidents.enums import Severity
from incidents.models import Incident, Notification
from incidents.services.notify import notification_deliver
from tests.incidents.factories import open_incident, roster_member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Deals\npaid twice", "Deals paid twice"),
        ("a\r\nBcc: x@example.com", "a Bcc: x@example.com"),
        ("tab\tand\x00nul\x1b[31m", "tab and nul [31m"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
        ("bidi\u202eoverride\u200b", "bidioverride"),
        ("  plain  ", "plain"),
    ],
)
def test_one_line_folds_every_break_and_control(typed, folded) -> None:
    assert one_line(typed) == folded
    assert is_one_line(folded)


def test_an_email_goes_out_for_a_title_stored_with_a_newline(operator) -> None:
    roster_member(operator, 1, email="olga@example.com")
    incident = open_incident(severity=Severity.SEV1, actor=operator, title="placeholder")
    # Whatever an entry point let through, or an old row holds.
    Incident.objects.filter(pk=incident.pk).update(title="Refund\r\ntwice\nBcc: a@example.com")
    Notification.objects.filter(incident=incident).delete()
    from incidents.services import notifications_create

    incident.refresh_from_db()
    created = notifications_create(
        incident=incident, level=1, event=f"test:{incident.pk}", headline="Opened\nnow"
    )
    assert [n.channel for n in created] == ["email"]
    assert "\n" not in created[0].subject
    assert "\r" not in created[0].subject
    mail.outbox.clear()
    outcome = notification_deliver(notification_id=created[0].pk)
    assert outcome.status == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[SEV1] Incident #001 — Refund twice Bcc: a@example")
    assert mail.outbox[0].to == ["olga@example.com"]
    assert mail.outbox[0].bcc == []
