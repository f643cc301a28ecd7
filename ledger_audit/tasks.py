"""Celery tasks of the ledger audit: take ids, re-read, call a service."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from ledger_audit.detectors import Scope
from ledger_audit.services import (
    detection_process_pending,
    detection_process_work,
    detection_purge_processed,
    detection_run,
    export_parts_sweep,
    export_requeue_stale,
    export_run,
)


@shared_task(acks_late=True, ignore_result=True)
def detect_work(work_id: int) -> bool:
    """Incremental detection for one feed batch (sent right after the batch commits)."""
    return detection_process_work(work_id=work_id)


@shared_task(acks_late=True, ignore_result=True)
def detection_sweep() -> int:
    """Catch-up: outbox rows whose task never ran (broker down, lost message); housekeeping."""
    done = 0
    while True:
        n = detection_process_pending(limit=50)
        done += n
        if n == 0 or done >= 5000:
            break
    detection_purge_processed(older_than=timezone.now() - timedelta(days=1))
    export_requeue_stale(older_than=timezone.now() - timedelta(minutes=2))
    return done


@shared_task(acks_late=True, ignore_result=True)
def full_scan() -> int:
    """Every detector over everything: time-based problems appear, stale findings clear."""
    result = detection_run(scope=Scope.full())
    return result.opened


@shared_task(acks_late=True, ignore_result=True, queue="exports")
def export_run_task(export_id: int) -> bool:
    return export_run(export_id=export_id) is not None


@shared_task(acks_late=True, ignore_result=True)
def sweep_export_parts() -> int:
    """Temporary files of exports whose worker was killed mid-write."""
    age = timedelta(seconds=settings.LEDGER_AUDIT_EXPORT_PART_MAX_AGE_SECONDS)
    return len(export_parts_sweep(older_than=timezone.now() - age))
