import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from core.delivery import backoff_seconds
from pilot.enums import DeliveryStatus
from pilot.models import WebhookDelivery, WebhookSubscription
from pilot.services import pilot_disable, webhook_delivery_attempt
from pilot.tasks import deliver_webhook

SECRET = "s3cret-for-tests"


class Receiver:
    """A real HTTP endpoint on the loopback; answers each POST with the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        receiver = Receiver(list(statuses or []))
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def _verify(headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["X-Signature-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Signature"], f"sha256={expected.hexdigest()}")


def test_each_revision_is_delivered_once_signed(seeded, operator, receiver_factory):
    receiver = receiver_factory()
    subscription = WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    WebhookSubscription.objects.create(url=receiver.url, secret="x", active=False)
    revision = pilot_disable(actor=operator, reason="kill")
    delivery = WebhookDelivery.objects.get()  # created with the revision, only for active ones
    assert (delivery.subscription, delivery.revision) == (subscription, revision)

    assert deliver_webhook(delivery.pk) == "sent"  # the task's function, run synchronously
    assert deliver_webhook(delivery.pk) == "already_sent"  # again: nothing more is sent
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert _verify(headers, body)
    payload = json.loads(body)
    assert payload["event"] == "pilot.config_changed"
    assert payload["config"]["revision"] == revision.number
    assert payload["config"]["enabled"] is False
    assert headers["X-Webhook-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)


def test_failures_are_retried_with_exponential_backoff(
    seeded, operator, receiver_factory, settings
):
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    receiver = receiver_factory([500, 503])
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    pilot_disable(actor=operator, reason="kill")
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        first = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.retry_in) == ("retry", 10.0)
        early = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert early.status == "not_due"  # a duplicate or early retry sends nothing
        traveller.shift(timedelta(seconds=10))
        second = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert (second.status, second.retry_in) == ("retry", 20.0)
        traveller.shift(timedelta(seconds=20))
        third = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert third.status == "sent"
    assert len(receiver.requests) == 3
    assert len({h["X-Webhook-Delivery"] for h, _b in receiver.requests}) == 1
    assert all(_verify(h, b) for h, b in receiver.requests)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_gives_up_after_the_last_attempt(seeded, operator, receiver_factory, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receiver_factory([500, 500, 500])
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    pilot_disable(actor=operator, reason="kill")
    delivery = WebhookDelivery.objects.get()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "retry"
        traveller.shift(timedelta(hours=1))
        assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "failed"
        traveller.shift(timedelta(hours=1))
        assert webhook_delivery_attempt(delivery_id=delivery.pk).status == "already_failed"
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_deliver_exactly_once(make_member, receiver_factory):
    from core.roles import Role
    from pilot.services import pilot_seed_demo

    pilot_seed_demo()
    receiver = receiver_factory()
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    pilot_disable(actor=make_member(Role.OPERATOR), reason="kill")
    delivery = WebhookDelivery.objects.get()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def send() -> None:
        try:
            barrier.wait()
            outcomes.append(webhook_delivery_attempt(delivery_id=delivery.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(receiver.requests) == 1
    assert outcomes.count("sent") == 1  # the others found it locked or already sent
    assert set(outcomes) <= {"sent", "busy", "already_sent"}


def test_the_sweep_requeues_overdue_pending_deliveries(seeded, operator, receiver_factory):
    from pilot.tasks import sweep_webhook_deliveries

    receiver = receiver_factory()
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    pilot_disable(actor=operator, reason="kill")
    delivery = WebhookDelivery.objects.get()
    assert sweep_webhook_deliveries() == 0  # just created: its own task is on the way
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep_webhook_deliveries() == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT)
    assert sweep_webhook_deliveries() == 0


def test_only_subscriptions_asking_for_config_revisions_get_them(
    seeded, operator, receiver_factory
):
    receiver = receiver_factory()
    wanted = {
        "default": WebhookSubscription.objects.create(url=receiver.url, secret=SECRET),
        "every event": WebhookSubscription.objects.create(
            url=receiver.url, secret=SECRET, events=["*"]
        ),
        "the family": WebhookSubscription.objects.create(
            url=receiver.url, secret=SECRET, events=["incident.*", "pilot.*"]
        ),
    }
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET, events=["incident.*"])
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET, events=["audit.checkpoint"])
    pilot_disable(actor=operator, reason="kill")
    assert sorted(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == sorted(
        s.pk for s in wanted.values()
    )


def test_a_receiver_refused_at_send_gets_nothing_and_the_record_says_why(
    seeded, operator, receiver_factory, settings
):
    """Saved while its network was allowed (or written around the services): the check before
    connecting still refuses it once the network is no longer allowed."""
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver = receiver_factory()
    WebhookSubscription.objects.create(url=receiver.url, secret=SECRET)
    pilot_disable(actor=operator, reason="kill")
    row = WebhookDelivery.objects.get()
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert deliver_webhook(row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, None)
    assert row.last_error == "refused address: 127.0.0.1 is a loopback address (127.0.0.0/8)"
    assert receiver.requests == []
