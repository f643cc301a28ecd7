from celery import Task, shared_task

from pilot.services import webhook_deliveries_due, webhook_delivery_attempt
from pilot.services.webhooks import webhook_dispatch


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def deliver_webhook(self: Task, delivery_id: int) -> str:  # type: ignore[type-arg]
    """Send one webhook delivery; on failure retry after the delivery's backoff delay."""
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=max(1.0, outcome.retry_in))
    return outcome.status


@shared_task(acks_late=True, ignore_result=True)
def sweep_webhook_deliveries() -> int:
    """Catch-up: re-queue pending deliveries whose task was lost (broker down, worker killed)."""
    due = webhook_deliveries_due()
    webhook_dispatch(delivery_ids=due)
    return len(due)
