from celery import shared_task

from core import audit_chain, idempotency


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records() -> int:
    """Drop stored Idempotency-Key responses past their 24 h window."""
    return idempotency.purge_expired()


@shared_task(acks_late=True, ignore_result=True)
def audit_checkpoint() -> int:
    """Publish the audit chain's head (log line, /metrics, listeners); 0 for an empty chain.
    Idempotent: run twice on the same head, it records one checkpoint."""
    checkpoint = audit_chain.checkpoint_record()
    return checkpoint.seq if checkpoint else 0
