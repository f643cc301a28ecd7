from celery import shared_task

from core import idempotency


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records() -> int:
    """Drop stored Idempotency-Key responses past their 24 h window."""
    return idempotency.purge_expired()
