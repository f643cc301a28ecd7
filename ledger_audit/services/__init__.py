"""Writes of the ledger-audit app: ``from ledger_audit.services import detection_run``.

The feed's ingest services live in ``ledger_audit.feed``."""

from ledger_audit.services.exports import (
    export_can_download,
    export_download_open,
    export_parts_sweep,
    export_request,
    export_requeue_stale,
    export_run,
    exports_storage,
)
from ledger_audit.services.findings import (
    DetectionResult,
    detection_process_pending,
    detection_process_work,
    detection_purge_processed,
    detection_run,
    finding_record_changed_entries,
)
from ledger_audit.services.review import duplicate_keys_reviewed

__all__ = [
    "DetectionResult",
    "detection_process_pending",
    "detection_process_work",
    "detection_purge_processed",
    "detection_run",
    "duplicate_keys_reviewed",
    "export_can_download",
    "export_download_open",
    "export_parts_sweep",
    "export_request",
    "export_requeue_stale",
    "export_run",
    "exports_storage",
    "finding_record_changed_entries",
]
