"""Notifications: who is told (on call now, else every member of the level and the gap
flagged), the rows created in the caller's transaction (unique key: one per event, recipient and
channel), and their delivery by a Celery task that sends each at most once.

Delivery holds the notification's row lock while sending and marks it sent in the same
transaction; a second deliverer (a retried task, another worker, the sweep's catch-up) finds it
locked (``skip_locked``: busy) or already sent, and sends nothing."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.translation import gettext as _

from core import delivery
from core.text import one_line
from incidents.enums import BoundAction, Channel, DeliveryStatus, TimelineKind
from incidents.metrics import NOTIFICATION_FAILURES, NOTIFICATIONS, ROSTER_GAPS
from incidents.models import (
    Escalation,
    Incident,
    Notification,
    RosterMember,
)
from incidents.models.roster import WebhookFormat
from incidents.selectors import on_call_at
from incidents.services import chat
from incidents.services.timeline import incident_bound_action_done, timeline_record

logger = logging.getLogger(__name__)

COORDINATOR_LEVEL = 3


@dataclass(frozen=True)
class Recipients:
    members: list[RosterMember]
    gap: bool  # nobody on call: every member of the level instead


def level_recipients(*, level: int, at: datetime) -> Recipients:
    """Whoever is on call for ``level`` at ``at``; if nobody, every active member (gap)."""
    on_call = on_call_at(level=level, at=at)
    if on_call:
        return Recipients(on_call, gap=False)
    everyone = list(
        RosterMember.objects.select_related("user", "webhook")
        .filter(active=True, level_id=level)
        .order_by("pk")
    )
    return Recipients(everyone, gap=True)


def _incident_url(incident: Incident) -> str:
    base = str(getattr(settings, "SLA_PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}/admin/incidents/incident/{incident.pk}/change/" if base else ""


def message_text(*, incident: Incident, headline: str) -> tuple[str, str]:
    """(subject, body) of a notification about ``incident``."""
    # A header: whatever the title or headline hold, the subject is one line.
    subject = one_line(f"[{incident.severity}] {incident.label} — {incident.title}: {headline}")
    subject = subject[:250]
    lines = [
        f"{incident.label} — {incident.title}",
        f"{headline}",
        f"Severity: {incident.severity} · Status: {incident.status} · "
        f"Level: L{incident.escalation_level}",
    ]
    if incident.response_due_at is not None:
        lines.append(f"Response due: {incident.response_due_at.isoformat()}")
    if incident.escalation_due_at is not None:
        lines.append(f"Escalates at: {incident.escalation_due_at.isoformat()}")
    url = _incident_url(incident)
    if url:
        lines.append(url)
    return subject, "\n".join(lines)


def notification_rows_create(
    *,
    incident: Incident,
    level: int,
    event: str,
    headline: str,
    escalation: Escalation | None = None,
    criterion: str = "",
) -> list[Notification]:
    """Tell ``level``'s people about ``event`` (once per event): rows in the caller's
    transaction, a "notified" timeline row, the gap flagged. Their delivery is queued after
    commit by ``escalation.notifications_create`` (the task module sits above the services).
    ``criterion`` is the escalation criterion the notice applies, recorded with it.

    A notification to level 3 that is delivered (``_settle``) is the runbook's "notify the
    pilot coordinator": queueing one, or finding nobody to queue it for, is not."""
    if Notification.objects.filter(event=event).exists():
        return []
    now = timezone.now()
    recipients = level_recipients(level=level, at=now)
    subject, body = message_text(incident=incident, headline=headline)
    rows: list[Notification] = []
    for member in recipients.members:
        common: dict[str, Any] = {
            "event": event,
            "incident": incident,
            "escalation": escalation,
            "level": level,
            "member": member,
            "subject": subject,
            "body": body,
            "roster_gap": recipients.gap,
            "created_at": now,
            "next_attempt_at": now,
        }
        email = member.email or member.user.email
        if email:
            rows.append(
                Notification(
                    key=f"{event}:email:{member.pk}",
                    channel=Channel.EMAIL,
                    recipient=email,
                    **common,
                )
            )
        if member.webhook is not None and member.webhook.active:
            rows.append(
                Notification(
                    key=f"{event}:webhook:{member.pk}",
                    channel=Channel.WEBHOOK,
                    recipient=member.webhook.name,
                    endpoint=member.webhook,
                    **common,
                )
            )
    created = Notification.objects.bulk_create(rows)
    if recipients.gap:
        ROSTER_GAPS.count(len(created))
    names = sorted({m.user.get_username() for m in recipients.members})
    if not recipients.members:
        # No roster for the level at all (an install without one): nothing to send; /metrics
        # shows the empty level (pcp_roster_members).
        logger.warning("%s: nobody on the roster of L%d to notify (%s)", incident, level, event)
    elif recipients.gap:
        timeline_record(
            incident=incident,
            kind=TimelineKind.NOTIFIED,
            actor=None,
            message=_(
                "Roster gap: nobody is on call for L%(level)d; notifying every member (%(who)s)."
            )
            % {"level": level, "who": ", ".join(names)},
            data={"level": level, "event": event, "roster_gap": True},
        )
    if created:
        timeline_record(
            incident=incident,
            kind=TimelineKind.NOTIFIED,
            actor=None,
            message=_("Notified L%(level)d (%(who)s): %(headline)s")
            % {"level": level, "who": ", ".join(names), "headline": headline},
            data={
                "level": level,
                "event": event,
                "notifications": [n.pk for n in created],
                "roster_gap": recipients.gap,
                **({"criterion": criterion} if criterion else {}),
            },
        )
    return created


# --- delivery ---------------------------------------------------------------------------


def headline_of(notification: Notification) -> str:
    """The headline a notification was made with: the second line :func:`message_text` wrote."""
    lines = notification.body.split("\n")
    return one_line(lines[1]) if len(lines) > 1 else ""


def webhook_body(notification: Notification) -> bytes:
    """The JSON an endpoint is sent, in its ``format``: a chat's own shape (slack, mattermost)
    or the generic one (``text``, ``key`` and the incident's fields)."""
    incident = notification.incident
    fmt = notification.endpoint.format if notification.endpoint is not None else ""
    if fmt in (WebhookFormat.SLACK, WebhookFormat.MATTERMOST):
        chat_data = chat.chat_payload(
            fmt=fmt,
            incident=incident,
            headline=headline_of(notification),
            url=_incident_url(incident),
        )
        return json.dumps(chat_data, sort_keys=True, separators=(",", ":")).encode()
    data = {
        "text": f"{notification.subject}\n{notification.body}",
        "key": notification.key,
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "escalation_level": incident.escalation_level,
        },
        "level": notification.level,
        "roster_gap": notification.roster_gap,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def message_id(notification: Notification) -> str:
    """The notification's ``webhook-id``: the row's, the same on every retry of it."""
    return f"pcp-notification-{notification.pk}"


def _send_webhook(notification: Notification) -> delivery.Attempt:
    headers = {
        "User-Agent": "pilot-control-plane-notifications/1",
        "X-Notification-Key": notification.key,
    }
    body = webhook_body(notification)
    return delivery.post_to_receiver(
        notification.endpoint, body=body, message_id=message_id(notification), headers=headers
    )


def _send_email(notification: Notification) -> delivery.Attempt:
    try:
        EmailMessage(
            # Folded again at the header: a row stored before subjects were folded (or written
            # by any other path) can never make the mail library refuse the message.
            subject=one_line(notification.subject),
            body=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
            headers={"X-Notification-Key": notification.key},
        ).send(fail_silently=False)
    except Exception as exc:  # SMTP errors, refused connections, bad addresses
        return delivery.failed_attempt(exc)
    return delivery.Attempt()


def _send(notification: Notification) -> delivery.Attempt:
    if notification.channel == Channel.WEBHOOK:
        return _send_webhook(notification)
    return _send_email(notification)


def _settle(
    notification: Notification, attempt: delivery.Attempt, outcome: delivery.Outcome
) -> None:
    # Counted with the attempt's transaction: a rolled-back attempt is no event.
    NOTIFICATIONS.count(channel=notification.channel, outcome=outcome.status.value)
    if outcome.status != delivery.Status.RETRY:
        notification.next_attempt_at = None  # nothing more is due: the sweep ignores it
    if outcome.status == delivery.Status.FAILED:
        notification.failed_at = timezone.now()
        NOTIFICATION_FAILURES.count(channel=notification.channel)
    if outcome.status == delivery.Status.SENT and notification.level == COORDINATOR_LEVEL:
        # Booked in the delivery's transaction: the step is done exactly when the send is.
        incident_bound_action_done(
            incident=notification.incident,
            action=BoundAction.NOTIFY_COORDINATOR,
            actor=None,
            note=_("Delivered to %(who)s (%(channel)s).")
            % {"who": notification.recipient, "channel": notification.channel},
            data={"notification": notification.pk},
        )


def notification_deliver(*, notification_id: int) -> delivery.Outcome:
    """Send one queued notification once. On failure: ``retry`` (with the backoff) or, after
    the last allowed attempt, ``failed`` with the reason. Never sends one that is not queued."""
    return delivery.deliver_once(
        Notification.objects.select_related("endpoint", "incident"),
        notification_id,
        pending=DeliveryStatus.QUEUED,
        send=_send,
        settle=_settle,
    )


def stale_notification_ids(*, now: datetime, grace: timedelta, limit: int = 500) -> list[int]:
    """Queued notifications whose next attempt is overdue by ``grace`` (a lost task)."""
    return list(
        Notification.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lt=now - grace)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
