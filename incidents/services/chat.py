"""Chat-native notification payloads for the roster's webhook endpoints, chosen per endpoint
(``WebhookEndpoint.format``):

- **slack**: Block Kit ``blocks`` (a header with the severity, a section with the title linked
  to the incident page, a section of fields with the due times, a context line saying what to
  do next) and the ``text`` fallback that notifications and old clients show;
- **mattermost**: one ``attachments`` entry (``fallback``, the severity ``color``, the title
  linked by ``title_link``, Markdown ``text`` and short ``fields``) and ``text``.

Text a person typed (the title; the headline may quote it) is escaped for the chat it goes to,
so it can neither mention a channel nor forge a link: Slack's mrkdwn by its three entities
(``&``, ``<``, ``>``), Mattermost's Markdown by a backslash before each character Markdown
gives a meaning to. Where the chat wants one line (a header, a link label, a title, a field)
it gets one."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from core.text import one_line
from incidents.enums import Status
from incidents.models import Incident

SLACK = "slack"
MATTERMOST = "mattermost"

# The attachment's left border, by severity (red, orange, amber, blue).
SEVERITY_COLOURS = {"SEV0": "#D0021B", "SEV1": "#F5A623", "SEV2": "#F8E71C", "SEV3": "#4A90E2"}
HEADER_MAX = 150  # Block Kit: a header's plain_text
SECTION_MAX = 3000  # Block Kit: a section's text
FIELD_MAX = 2000  # Block Kit: a section field's text

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:])")
# A zero-width space after "@": Mattermost finds @channel, @here and @name mentions in the
# text itself, where a backslash does not stop them.
_NO_MENTION = "@\u200b"


def slack_escape(text: str) -> str:
    """Slack mrkdwn's control characters as its entities (what Slack asks of every sender)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_escape(text: str) -> str:
    """Every character Markdown (and Mattermost's links, mentions and emoji) reads, escaped
    with a backslash: shown as typed, never formatting; and no "@" that could mention anyone."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("@", _NO_MENTION)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else ""


def next_step(incident: Incident) -> str:
    """What the person told should do now, from the incident's state."""
    if incident.status == Status.OPEN:
        if incident.response_due_at is not None:
            return _("Acknowledge it by %(due)s, then work its runbook checklist.") % {
                "due": _when(incident.response_due_at)
            }
        return _("Acknowledge it, then work its runbook checklist.")
    if incident.status == Status.ACKNOWLEDGED:
        if incident.escalation_due_at is not None:
            return _("Work its runbook checklist; it escalates at %(due)s unless resolved.") % {
                "due": _when(incident.escalation_due_at)
            }
        return _("Work its runbook checklist.")
    if incident.status == Status.DEFERRED:
        return _("Deferred to the bug tracker: nothing to do now.")
    return _("Resolved: nothing to do now.")


def _facts(incident: Incident) -> list[tuple[str, str]]:
    facts = [
        (_("Severity"), str(incident.severity)),
        (_("Status"), str(incident.status)),
        (_("Level"), f"L{incident.escalation_level}"),
    ]
    if incident.response_due_at is not None:
        facts.append((_("Response due"), _when(incident.response_due_at)))
    if incident.escalation_due_at is not None:
        facts.append((_("Escalates at"), _when(incident.escalation_due_at)))
    return facts


def slack_payload(*, incident: Incident, headline: str, url: str) -> dict[str, Any]:
    title = one_line(f"{incident.label} — {incident.title}")
    header = one_line(f"{incident.severity} · {incident.label}: {headline}")[:HEADER_MAX]
    label = slack_escape(title)
    linked = f"*<{slack_escape(url)}|{label}>*" if url else f"*{label}*"
    fallback = one_line(f"[{incident.severity}] {title}: {headline}")
    return {
        "text": slack_escape(fallback),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{linked}\n{slack_escape(headline)}"[:SECTION_MAX],
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{slack_escape(value)}"[:FIELD_MAX]}
                    for name, value in _facts(incident)
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"*{_('Next')}:* {slack_escape(next_step(incident))}",
                    }
                ],
            },
        ],
    }


def mattermost_payload(*, incident: Incident, headline: str, url: str) -> dict[str, Any]:
    title = one_line(f"{incident.label} — {incident.title}")
    fallback = one_line(f"[{incident.severity}] {title}: {headline}")
    attachment: dict[str, Any] = {
        "fallback": fallback,
        "color": SEVERITY_COLOURS.get(str(incident.severity), "#9B9B9B"),
        "title": title,
        "text": f"{markdown_escape(headline)}\n\n**{_('Next')}:** "
        f"{markdown_escape(next_step(incident))}",
        "fields": [
            {"short": True, "title": name, "value": markdown_escape(value)}
            for name, value in _facts(incident)
        ],
    }
    if url:
        attachment["title_link"] = url
    return {"text": markdown_escape(fallback), "attachments": [attachment]}


def chat_payload(*, fmt: str, incident: Incident, headline: str, url: str) -> dict[str, Any]:
    if fmt == MATTERMOST:
        return mattermost_payload(incident=incident, headline=headline, url=url)
    return slack_payload(incident=incident, headline=headline, url=url)
