"""Celery tasks of the incidents app: the SLA sweep (beat) and notification delivery."""

from celery import Task, shared_task

from incidents.services.escalation import sla_sweep as sla_sweep_service
from incidents.services.notify import notification_deliver


@shared_task(acks_late=True, ignore_result=True, queue="sla")
def sla_sweep() -> dict[str, int]:
    """Fire due SLA deadlines (every ``SLA_SWEEP_SECONDS``)."""
    result = sla_sweep_service()
    return {
        "fired": result.fired,
        "skipped": result.skipped,
        "busy": result.busy,
        "requeued": result.requeued,
    }


@shared_task(bind=True, acks_late=True, ignore_result=True, queue="sla", max_retries=None)
def deliver_notification(self: Task, notification_id: int) -> str:  # type: ignore[type-arg]
    """Send one notification. A failed attempt is retried with exponential backoff (the
    delivery service counts attempts and gives up after ``WEBHOOK_MAX_ATTEMPTS``, recording the
    reason); a sent notification is never sent again."""
    outcome = notification_deliver(notification_id=notification_id)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
