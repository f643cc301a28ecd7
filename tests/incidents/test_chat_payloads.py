"""Chat-native notifications: an endpoint in the slack format receives Block Kit (header,
section, context blocks and the text fallback), one in the mattermost format an attachment with
the severity colour, each checked against a schema written here from the chats' documentation
(Slack's Block Kit reference: header/section/context blocks and text objects with their length
limits; Mattermost's message attachments reference). A title a person typed is escaped for the
chat: it can neither ping a channel nor forge a link."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from standardwebhooks import Webhook

from core.secret_admin import new_secret
from incidents.enums import Severity
from incidents.models import Notification
from incidents.models.roster import WebhookFormat
from incidents.services.notify import notification_deliver
from tests.incidents.factories import open_incident, roster_member, webhook_endpoint
from tests.incidents.receivers import http_receiver

pytestmark = pytest.mark.django_db

HOSTILE = (
    "Ledger <!channel> & <https://evil.example|click> *bold* [x](https://evil.example) @channel"
)

_TEXT: dict[str, Any] = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {
        "type": {"enum": ["plain_text", "mrkdwn"]},
        "text": {"type": "string", "minLength": 1},
        "emoji": {"type": "boolean"},
        "verbatim": {"type": "boolean"},
    },
    "additionalProperties": False,
}
_PLAIN: dict[str, Any] = {
    **_TEXT,
    "properties": {**_TEXT["properties"], "type": {"const": "plain_text"}},
}
SLACK_MESSAGE = {
    "type": "object",
    "required": ["text", "blocks"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "header"},
                            "block_id": {"type": "string", "maxLength": 255},
                            "text": {
                                **_PLAIN,
                                "properties": {
                                    **_PLAIN["properties"],
                                    "text": {"type": "string", "minLength": 1, "maxLength": 150},
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["type"],
                        "anyOf": [{"required": ["text"]}, {"required": ["fields"]}],
                        "properties": {
                            "type": {"const": "section"},
                            "block_id": {"type": "string", "maxLength": 255},
                            "text": {
                                **_TEXT,
                                "properties": {
                                    **_TEXT["properties"],
                                    "text": {"type": "string", "minLength": 1, "maxLength": 3000},
                                },
                            },
                            "fields": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10,
                                "items": {
                                    **_TEXT,
                                    "properties": {
                                        **_TEXT["properties"],
                                        "text": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 2000,
                                        },
                                    },
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {
                            "type": {"const": "context"},
                            "block_id": {"type": "string", "maxLength": 255},
                            "elements": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 10,
                                "items": _TEXT,
                            },
                        },
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
}
MATTERMOST_MESSAGE = {
    "type": "object",
    "required": ["attachments"],
    "properties": {
        "text": {"type": "string"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["fallback"],
                "properties": {
                    "fallback": {"type": "string", "minLength": 1},
                    "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                    "pretext": {"type": "string"},
                    "text": {"type": "string"},
                    "author_name": {"type": "string"},
                    "author_link": {"type": "string"},
                    "author_icon": {"type": "string"},
                    "title": {"type": "string", "pattern": "^[^\\n]*$"},
                    "title_link": {"type": "string", "pattern": "^https?://"},
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["title", "value"],
                            "properties": {
                                "title": {"type": "string"},
                                "value": {"type": "string"},
                                "short": {"type": "boolean"},
                            },
                            "additionalProperties": False,
                        },
                    },
                    "image_url": {"type": "string"},
                    "thumb_url": {"type": "string"},
                    "footer": {"type": "string"},
                    "footer_icon": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def _received(operator, settings, fmt: str) -> tuple[dict[str, Any], Notification]:
    """Open a SEV1 with a hostile title; deliver its webhook notification to a real listener in
    ``fmt``; what the listener received."""
    settings.SLA_PUBLIC_URL = "https://pcp.example.com/"
    secret = new_secret()
    with http_receiver(status=200, secret=secret) as (url, hooks):
        endpoint = webhook_endpoint(url, secret=secret)
        endpoint.format = fmt
        endpoint.save()
        roster_member(operator, 1, email="", webhook=endpoint)
        operator.email = ""
        operator.save()
        incident = open_incident(title=HOSTILE, severity=Severity.SEV1, actor=operator)
        notification = Notification.objects.get(incident=incident, channel="webhook")
        assert notification_deliver(notification_id=notification.pk).status == "sent"
    (message,) = hooks.messages
    assert message["signature_ok"]
    return message["body"], notification


def test_slack_gets_block_kit_with_the_severity_the_link_due_times_and_next_step(
    operator, settings
):
    body, notification = _received(operator, settings, WebhookFormat.SLACK)
    jsonschema.validate(body, SLACK_MESSAGE)
    incident = notification.incident
    header, lead, facts, context = body["blocks"]
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert header["text"]["text"].startswith(f"SEV1 · {incident.label}: ")
    page = f"https://pcp.example.com/admin/incidents/incident/{incident.pk}/change/"
    escaped = (
        "Ledger &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; *bold* "
        "[x](https://evil.example) @channel"
    )
    assert lead["text"]["text"].startswith(f"*<{page}|{incident.label} — {escaped}>*\n")
    names = [f["text"].split("\n")[0] for f in facts["fields"]]
    assert names == ["*Severity*", "*Status*", "*Level*", "*Response due*", "*Escalates at*"]
    assert incident.response_due_at is not None
    due = incident.response_due_at.strftime("%Y-%m-%d %H:%M UTC")
    assert facts["fields"][3]["text"] == f"*Response due*\n{due}"
    assert context["elements"][0]["text"].startswith(f"*Next:* Acknowledge it by {due}")
    assert body["text"].startswith(f"[SEV1] {incident.label} — Ledger &lt;!channel&gt;")
    # Nothing the person typed reaches Slack as markup: no mention, no second link.
    raw = json.dumps(body)
    assert "<!channel>" not in raw
    assert "<https://evil.example" not in raw


def test_mattermost_gets_an_attachment_with_the_severity_colour(operator, settings):
    body, notification = _received(operator, settings, WebhookFormat.MATTERMOST)
    jsonschema.validate(body, MATTERMOST_MESSAGE)
    incident = notification.incident
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#F5A623"  # SEV1
    assert attachment["title"] == f"{incident.label} — {HOSTILE}"  # plain text, one line
    assert attachment["title_link"] == (
        f"https://pcp.example.com/admin/incidents/incident/{incident.pk}/change/"
    )
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Severity"] == "SEV1"
    assert set(fields) == {"Severity", "Status", "Level", "Response due", "Escalates at"}
    assert all(f["short"] for f in attachment["fields"])
    assert "**Next:** Acknowledge it by" in attachment["text"]
    # Markdown text is escaped: the typed link and emphasis show as typed.
    assert r"\[x\]\(https\://evil\.example\)" in body["text"]
    assert r"\*bold\*" in body["text"]
    assert "[x](https://evil.example)" not in body["text"]
    assert "@channel" not in body["text"]
    assert "@\u200bchannel" in body["text"]  # shown, but mentions nobody


def test_generic_endpoints_keep_todays_json(operator, settings):
    body, notification = _received(operator, settings, WebhookFormat.GENERIC)
    assert set(body) == {"text", "key", "incident", "level", "roster_gap"}
    assert body["key"] == notification.key
    assert body["incident"]["title"] == HOSTILE


def test_a_chat_payload_is_signed_for_standard_webhooks_receivers(operator, settings):
    settings.SLA_PUBLIC_URL = ""
    secret = new_secret()
    endpoint = webhook_endpoint("http://127.0.0.1:9/unused", secret=secret)
    endpoint.format = WebhookFormat.SLACK
    endpoint.save()
    roster_member(operator, 1, email="", webhook=endpoint)
    operator.email = ""
    operator.save()
    incident = open_incident(title="Plain title", severity=Severity.SEV3, actor=operator)
    notification = Notification.objects.get(incident=incident, channel="webhook")
    from core import delivery
    from incidents.services.notify import message_id, webhook_body

    body = webhook_body(notification)
    headers = delivery.signature_headers(
        secret=secret, body=body, message_id=message_id(notification)
    )
    payload = Webhook(secret).verify(body, headers)
    jsonschema.validate(payload, SLACK_MESSAGE)
    # Without a public URL the title is bold, not a link.
    assert payload["blocks"][1]["text"]["text"].startswith(f"*{incident.label} — Plain title*")


def test_the_admin_shows_and_saves_the_format(owner, client):
    from django.urls import reverse

    from incidents.models import WebhookEndpoint

    client.force_login(owner)
    add = reverse("admin:incidents_webhookendpoint_add")
    page = client.get(add).content.decode()
    assert 'name="format"' in page
    for value in ("generic", "slack", "mattermost"):
        assert f'value="{value}"' in page
    data = {"name": "sre chat", "url": "https://hooks.example.com/a", "format": "mattermost"}
    client.post(add, {**data, "secret": "", "active": "on"}, follow=True)
    assert WebhookEndpoint.objects.get(name="sre chat").format == "mattermost"
    listing = client.get(reverse("admin:incidents_webhookendpoint_changelist")).content.decode()
    assert "Mattermost (attachments with a severity colour)" in listing
