"""Change webhooks: every applied revision is pushed to each active subscriber, signed, retried
with exponential backoff, at most once per (subscriber, revision).

A delivery row is created in the revision's transaction (unique per subscription and revision);
the sender locks it (``skip_locked``), sends only while it is pending and due, and marks it sent in
the same transaction, so two workers (a retry and the catch-up sweep) never both send it.
Receivers can also de-duplicate on ``X-Webhook-Delivery``.

Signature: ``X-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` with the
Unix time in ``X-Signature-Timestamp``."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.webhooks import sign
from pilot.enums import DeliveryStatus
from pilot.models import ConfigRevision, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

EVENT = "pilot.config_changed"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def webhook_deliveries_create(*, revision: ConfigRevision) -> list[WebhookDelivery]:
    """One pending delivery per active subscriber, in the caller's transaction; each is handed
    to a worker after commit."""
    subscriptions = list(WebhookSubscription.objects.filter(active=True).only("id"))
    if not subscriptions:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=s, revision=revision) for s in subscriptions],
        ignore_conflicts=True,
    )
    ids = list(WebhookDelivery.objects.filter(revision=revision).values_list("id", flat=True))
    transaction.on_commit(lambda: webhook_dispatch(delivery_ids=ids), robust=True)
    return deliveries


def webhook_dispatch(*, delivery_ids: list[int]) -> None:
    """Queue the sending task; a broker failure is logged (the sweep picks the rows up later)."""
    from pilot.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        try:
            deliver_webhook.apply_async(args=(delivery_id,), retry=False)
        except Exception as exc:
            logger.warning("could not queue webhook delivery %s: %s", delivery_id, exc)


def payload(delivery: WebhookDelivery) -> bytes:
    from pilot.selectors import ConfigSnapshot

    data = {
        "event": EVENT,
        "delivery": delivery.pk,
        "config": ConfigSnapshot.from_revision(delivery.revision).as_data(),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def backoff_seconds(attempts: int) -> int:
    """Delay after the ``attempts``-th failed attempt: base · 2^(attempts-1), capped."""
    base = _setting("PILOT_WEBHOOK_BACKOFF_SECONDS", 10)
    cap = _setting("PILOT_WEBHOOK_BACKOFF_MAX_SECONDS", 3600)
    return int(min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | failed | retry | busy | missing | not_due
    retry_in: float | None = None  # seconds until the next attempt is due


def _post(delivery: WebhookDelivery, body: bytes) -> tuple[int | None, str]:
    """(status code, error). Only http(s) URLs; redirects are not followed silently."""
    url = delivery.subscription.url
    if not url.startswith(("http://", "https://")):
        return None, "unsupported URL scheme"
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "pilot-control-plane-webhooks/1",
            "X-Signature": sign(
                secret=delivery.subscription.secret, timestamp=timestamp, body=body
            ),
            "X-Signature-Timestamp": timestamp,
            "X-Webhook-Event": EVENT,
            "X-Webhook-Delivery": str(delivery.pk),
            "X-Pilot-Revision": str(delivery.revision.number),
        },
    )
    timeout = _setting("PILOT_WEBHOOK_TIMEOUT_SECONDS", 5)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(exc)[:500]


def webhook_delivery_attempt(*, delivery_id: int) -> DeliveryOutcome:
    """Try to send one delivery once (when pending and due). Holds the row lock while sending."""
    now = timezone.now()
    with transaction.atomic():
        delivery: Any = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription", "revision__created_by")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return DeliveryOutcome("busy" if exists else "missing")
        if delivery.status != DeliveryStatus.PENDING:
            return DeliveryOutcome(delivery.status)
        if not delivery.subscription.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "subscription deactivated"
            delivery.save(update_fields=["status", "last_error"])
            return DeliveryOutcome(delivery.status)
        if delivery.next_attempt_at > now:
            return DeliveryOutcome("not_due", (delivery.next_attempt_at - now).total_seconds())
        code, error = _post(delivery, payload(delivery))
        delivery.attempts += 1
        delivery.last_status_code = code
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
            delivery.save()
            return DeliveryOutcome(DeliveryStatus.SENT)
        delivery.last_error = error or f"HTTP {code}"
        if delivery.attempts >= _setting("PILOT_WEBHOOK_MAX_ATTEMPTS", 8):
            delivery.status = DeliveryStatus.FAILED
            delivery.save()
            logger.warning("webhook delivery %s gave up: %s", delivery.pk, delivery.last_error)
            return DeliveryOutcome(DeliveryStatus.FAILED)
        delay = backoff_seconds(delivery.attempts)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        delivery.save()
        return DeliveryOutcome("retry", float(delay))


def webhook_deliveries_due(*, limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is overdue (their queued task was lost)."""
    grace = timedelta(seconds=_setting("PILOT_WEBHOOK_SWEEP_GRACE_SECONDS", 30))
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now() - grace
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
