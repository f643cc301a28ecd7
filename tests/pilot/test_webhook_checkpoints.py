"""Audit checkpoints reach the subscriptions that ask for ``audit.checkpoint``: a real listener
receives the chain's head signed as Standard Webhooks, once per (subscription, checkpoint)
however often the checkpoint task runs, retried with the same backoff as config webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from standardwebhooks import Webhook

from core.audit_chain import CHECKPOINT_LISTENERS, AuditCheckpoint, checkpoint_record
from core.delivery import backoff_seconds
from core.secret_admin import new_secret
from pilot.models import WebhookDelivery, WebhookSubscription
from pilot.services import pilot_disable, webhook_delivery_attempt
from pilot.services.webhooks import webhook_checkpoint_deliveries_create
from pilot.tasks import deliver_webhook
from tests.pilot.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(list(statuses or [])))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def _checkpoint(capture) -> AuditCheckpoint | None:
    # The listeners run after the checkpoint commits: run those callbacks here.
    with capture(execute=True):
        return checkpoint_record()


def test_pilot_registers_the_listener_once():
    assert CHECKPOINT_LISTENERS.count(webhook_checkpoint_deliveries_create) == 1


def test_a_checkpoint_reaches_its_subscribers_signed_and_not_twice(
    seeded, operator, receiver_factory, django_capture_on_commit_callbacks
):
    receiver = receiver_factory()
    secret = new_secret()
    wants = WebhookSubscription.objects.create(
        name="anchor", url=receiver.url, secret=secret, events=["audit.checkpoint"]
    )
    WebhookSubscription.objects.create(name="all", url=receiver.url, secret=secret, events=["*"])
    WebhookSubscription.objects.create(name="config only", url=receiver.url, secret=secret)
    WebhookSubscription.objects.create(
        name="off", url=receiver.url, secret=secret, events=["audit.*"], active=False
    )
    pilot_disable(actor=operator, reason="kill")  # audited: the chain has a head
    WebhookDelivery.objects.filter(event="pilot.config").delete()

    checkpoint = _checkpoint(django_capture_on_commit_callbacks)
    assert checkpoint is not None
    rows = list(WebhookDelivery.objects.filter(checkpoint=checkpoint).order_by("pk"))
    assert [r.subscription.name for r in rows] == ["anchor", "all"]
    assert {r.event for r in rows} == {"audit.checkpoint"}
    for row in rows:
        assert deliver_webhook(row.pk) == "sent"

    assert len(receiver.requests) == 2
    headers, body = receiver.requests[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["event"] == "audit.checkpoint"
    assert payload["checkpoint"]["seq"] == checkpoint.seq
    assert payload["checkpoint"]["hash"] == checkpoint.hash
    assert payload["checkpoint"]["expect"] == f"{checkpoint.seq}:{checkpoint.hash}"
    assert headers["X-Webhook-Event"] == "audit.checkpoint"
    assert headers["webhook-id"] == f"pcp-webhook-delivery-{rows[0].pk}"
    assert "X-Pilot-Revision" not in headers

    # A second run with the same head, and the listener called again for the same checkpoint
    # (a retried on-commit hook): no new row, nothing sent again.
    assert _checkpoint(django_capture_on_commit_callbacks) == checkpoint
    webhook_checkpoint_deliveries_create(checkpoint)
    assert WebhookDelivery.objects.filter(checkpoint=checkpoint).count() == 2
    for row in rows:
        assert deliver_webhook(row.pk) == "already_sent"
    assert len(receiver.requests) == 2
    assert wants.deliveries.get().status == "sent"


def test_a_failed_checkpoint_delivery_is_retried_with_the_backoff(
    seeded, operator, receiver_factory, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    receiver = receiver_factory(statuses=[503])
    secret = new_secret()
    WebhookSubscription.objects.create(
        name="anchor", url=receiver.url, secret=secret, events=["audit.checkpoint"]
    )
    pilot_disable(actor=operator, reason="kill")
    checkpoint = _checkpoint(django_capture_on_commit_callbacks)
    assert checkpoint is not None
    row = WebhookDelivery.objects.get(checkpoint=checkpoint)

    outcome = webhook_delivery_attempt(delivery_id=row.pk)
    assert (outcome.status, outcome.retry_in) == ("retry", float(backoff_seconds(1)))
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
    assert webhook_delivery_attempt(delivery_id=row.pk).status == "not_due"
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    assert webhook_delivery_attempt(delivery_id=row.pk).status == "sent"
    bodies = [json.loads(body) for _, body in receiver.requests]
    assert [b["checkpoint"]["seq"] for b in bodies] == [checkpoint.seq, checkpoint.seq]
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert ids == {f"pcp-webhook-delivery-{row.pk}"}
