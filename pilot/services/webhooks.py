"""Subscription webhooks: every applied revision is pushed to each active subscriber whose event
filter asks for ``pilot.config``, and every new audit checkpoint (the chain's published head) to
each that asks for ``audit.checkpoint``; signed, retried with exponential backoff, at most once
per (subscriber, revision) and per (subscriber, checkpoint).

A delivery row is created in the revision's transaction (unique per subscription and revision),
or right after the checkpoint committed (unique per subscription and checkpoint);
the sender locks it (``skip_locked``), sends only while it is pending and due, and marks it sent in
the same transaction, so two workers (a retry and the catch-up sweep) never both send it.
Receivers can also de-duplicate on ``X-Webhook-Delivery``.

Signing, sending, backoff and the outcome are core.delivery's (the same as for incident
notifications); this module owns the rows and the payload."""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.utils import timezone

from core import delivery
from core.audit_chain import AuditCheckpoint
from pilot.enums import DeliveryStatus
from pilot.models import ConfigRevision, WebhookDelivery, WebhookSubscription
from pilot.webhook_events import AUDIT_CHECKPOINT, PILOT_CONFIG, wants

logger = logging.getLogger(__name__)

EVENT = "pilot.config_changed"
# What the payload's "event" and X-Webhook-Event say, per delivered event (a config revision's
# name predates the event filter, and receivers rely on it).
_EVENT_NAMES = {PILOT_CONFIG: EVENT, AUDIT_CHECKPOINT: AUDIT_CHECKPOINT}


def webhook_subscriptions_for(event: str) -> list[WebhookSubscription]:
    """The active subscriptions whose event filter asks for ``event`` (matched here rather than
    in SQL: the filter is a short JSON list, and SQLite and PostgreSQL query JSON differently)."""
    active = WebhookSubscription.objects.filter(active=True).only("id", "events")
    return [s for s in active if wants(s.events, event)]


def webhook_deliveries_create(*, revision: ConfigRevision) -> list[WebhookDelivery]:
    """One pending delivery per active subscriber, in the caller's transaction; each is handed
    to a worker after commit."""
    subscriptions = webhook_subscriptions_for(PILOT_CONFIG)
    if not subscriptions:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(subscription=s, event=PILOT_CONFIG, revision=revision)
            for s in subscriptions
        ],
        ignore_conflicts=True,
    )
    ids = list(WebhookDelivery.objects.filter(revision=revision).values_list("id", flat=True))
    transaction.on_commit(lambda: webhook_dispatch(delivery_ids=ids), robust=True)
    return deliveries


def webhook_checkpoint_deliveries_create(checkpoint: AuditCheckpoint) -> None:
    """One pending delivery of ``checkpoint`` per active subscriber asking for
    ``audit.checkpoint``, each handed to a worker after commit. Registered as a
    checkpoint listener (called after the checkpoint committed); a second call for the same
    checkpoint adds nothing (unique per subscription and checkpoint)."""
    subscriptions = webhook_subscriptions_for(AUDIT_CHECKPOINT)
    if not subscriptions:
        return
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(subscription=s, event=AUDIT_CHECKPOINT, checkpoint=checkpoint)
                for s in subscriptions
            ],
            ignore_conflicts=True,
        )
        ids = list(
            WebhookDelivery.objects.filter(
                checkpoint=checkpoint, status=DeliveryStatus.PENDING, attempts=0
            ).values_list("id", flat=True)
        )
        transaction.on_commit(lambda: webhook_dispatch(delivery_ids=ids), robust=True)


def webhook_dispatch(*, delivery_ids: list[int]) -> None:
    """Queue the sending task; a broker failure is logged (the sweep picks the rows up later)."""
    from pilot.tasks import deliver_webhook

    delivery.queue_each(deliver_webhook, delivery_ids, what="webhook delivery")


def payload(row: WebhookDelivery) -> bytes:
    from pilot.selectors import ConfigSnapshot

    data: dict[str, object] = {"event": _EVENT_NAMES[row.event], "delivery": row.pk}
    if row.checkpoint is not None:
        # The anchor a receiver keeps: ``verify_audit --expect SEQ:HASH`` checks the chain
        # still holds it.
        data["checkpoint"] = {
            "seq": row.checkpoint.seq,
            "hash": row.checkpoint.hash,
            "at": row.checkpoint.at.isoformat(),
            "expect": f"{row.checkpoint.seq}:{row.checkpoint.hash}",
        }
    elif row.revision is not None:
        data["config"] = ConfigSnapshot.from_revision(row.revision).as_data()
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def message_id(row: WebhookDelivery) -> str:
    """The delivery's ``webhook-id``: the row's, so every retry of it carries the same one."""
    return f"pcp-webhook-delivery-{row.pk}"


def _post(row: WebhookDelivery) -> delivery.Attempt:
    headers = {
        "User-Agent": "pilot-control-plane-webhooks/1",
        "X-Webhook-Event": _EVENT_NAMES[row.event],
        "X-Webhook-Delivery": str(row.pk),
    }
    if row.revision is not None:
        headers["X-Pilot-Revision"] = str(row.revision.number)
    return delivery.post_to_receiver(
        row.subscription, body=payload(row), message_id=message_id(row), headers=headers
    )


def _record_status_code(
    row: WebhookDelivery, attempt: delivery.Attempt, outcome: delivery.Outcome
) -> None:
    row.last_status_code = attempt.status_code


def webhook_delivery_attempt(*, delivery_id: int) -> delivery.Outcome:
    """Try to send one delivery once (when pending and due). Holds the row lock while sending."""
    return delivery.deliver_once(
        WebhookDelivery.objects.select_related(
            "subscription", "revision__created_by", "checkpoint"
        ),
        delivery_id,
        pending=DeliveryStatus.PENDING,
        send=_post,
        settle=_record_status_code,
        due_at=lambda row: row.next_attempt_at,
    )


def webhook_deliveries_due(*, limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is overdue (their queued task was lost)."""
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=timezone.now() - delivery.sweep_grace(),
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
