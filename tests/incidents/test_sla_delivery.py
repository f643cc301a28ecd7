"""Delivery: a failing webhook endpoint is retried with exponential backoff and ends as failed
with its reason, while the incident flow carries on; a retried task never sends twice."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.delivery import backoff_seconds
from incidents.enums import Severity
from incidents.models import Notification
from incidents.services import incident_acknowledge, incident_resolve
from incidents.services.notify import notification_deliver
from incidents.tasks import deliver_notification
from tests.incidents.factories import open_incident, roster_member, webhook_endpoint
from tests.incidents.receivers import http_receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def test_backoff_is_exponential_and_capped(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 600
    assert [backoff_seconds(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]


def _webhook_notification(operator, url: str) -> Notification:
    roster_member(operator, 1, email="", webhook=webhook_endpoint(url))
    operator.email = ""
    operator.save()
    incident = open_incident(severity=Severity.SEV1, actor=operator)
    return Notification.objects.get(incident=incident, channel="webhook")


def test_failing_webhook_is_retried_with_backoff_then_failed(operator, engineer, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    with http_receiver(status=500) as (url, hooks), time_machine.travel(T0, tick=False) as clock:
        notification = _webhook_notification(operator, url)
        delays = []
        for _attempt in range(3):
            outcome = notification_deliver(notification_id=notification.pk)
            assert outcome.status == "retry"
            notification.refresh_from_db()
            assert notification.status == "queued"
            assert notification.last_error == "HTTP 500"
            assert notification.next_attempt_at is not None
            delays.append((notification.next_attempt_at - T0).total_seconds())
            assert outcome.retry_in == delays[-1]
        assert delays == [10, 20, 40]  # increasing: 10 · 2^(n-1)

        # The incident flow is not blocked while delivery fails.
        clock.shift(timedelta(minutes=5))
        incident = incident_acknowledge(incident=notification.incident, actor=operator)
        assert incident.status == "acknowledged"

        final = notification_deliver(notification_id=notification.pk)
        assert final.status == "failed"
        assert notification_deliver(notification_id=notification.pk).status == "already_failed"
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == ("failed", 4)
        assert notification.last_error == "HTTP 500"
        assert notification.failed_at is not None
        assert len(hooks.messages) == 4  # one request per attempt, each signed
        assert all(h["signature_ok"] for h in hooks.messages)
        incident = incident_resolve(incident=incident, actor=engineer)
        assert incident.status == "resolved"


def test_the_task_retries_through_celery_and_ends_failed(operator, settings):
    """Run the real task eagerly: Celery re-runs it on each ``retry`` with the countdown."""
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with http_receiver(status=500) as (url, hooks):
        notification = _webhook_notification(operator, url)
        result = deliver_notification.apply(args=(notification.pk,))
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.last_error == "HTTP 500"
    assert len(hooks.messages) == 3
    assert result.get() == "failed"


def test_a_retried_task_after_success_sends_nothing(operator):
    with http_receiver(status=200) as (url, hooks):
        notification = _webhook_notification(operator, url)
        assert deliver_notification.apply(args=(notification.pk,)).get() == "sent"
        assert deliver_notification.apply(args=(notification.pk,)).get() == "already_sent"
    assert len(hooks.messages) == 1
    body = hooks.messages[0]["body"]
    assert body["text"].startswith("[SEV1]")
    assert body["incident"]["number"] == notification.incident.number


def test_unreachable_endpoint_records_the_reason(operator, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    notification = _webhook_notification(operator, "http://127.0.0.1:9/nothing-listens")
    assert notification_deliver(notification_id=notification.pk).status == "failed"
    notification.refresh_from_db()
    assert notification.status == "failed"
    assert notification.last_error == "connection failed"  # a category, not the socket's words
