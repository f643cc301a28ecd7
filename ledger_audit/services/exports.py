"""Timeline exports: request, run (stream JSONL into storage, SHA-256 while writing, atomic
publish), and logged downloads.

A run is idempotent: a redelivered task rewrites the file from scratch under a temporary name;
only the final rename plus the status update make it visible, and a done export is never redone."""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import AuditEventType, record
from core.errors import Conflict, DomainError, NotAllowed
from core.services import require_perm
from incidents.enums import BoundAction, TimelineKind
from incidents.models import Incident
from incidents.services import incident_bound_action_done, timeline_record
from ledger_audit.enums import ExportStatus
from ledger_audit.models import (
    DealEvent,
    Dispute,
    ExportDownload,
    LedgerEntry,
    TimelineExport,
    Timer,
)
from ledger_audit.permissions import LedgerPerm
from ledger_audit.services.export_sql import timeline_chunks

logger = logging.getLogger(__name__)

MAX_EXPORT_DEALS = 100_000
CHUNK = 2000

# kind → (model, fields, time field); rows are ordered per deal, then by kind, then by time.
SOURCES: list[tuple[str, Any, tuple[str, ...], str]] = [
    (
        "deal_event",
        DealEvent,
        ("state", "occurred_at", "template_version", "received_at"),
        "occurred_at",
    ),
    (
        "ledger_entry",
        LedgerEntry,
        ("entry_id", "idempotency_key", "kind", "amount", "currency", "created_at", "received_at"),
        "created_at",
    ),
    ("timer", Timer, ("timer_id", "kind", "expires_at", "status", "updated_at"), "expires_at"),
    (
        "dispute",
        Dispute,
        (
            "dispute_id",
            "opened_at",
            "ttl_seconds",
            "expires_at",
            "status",
            "resolution",
            "updated_at",
        ),
        "opened_at",
    ),
]


def exports_storage() -> Storage:
    return storages["exports"]


def _dispatch(export_id: int) -> None:
    from ledger_audit import tasks

    try:
        tasks.export_run_task.apply_async((export_id,), retry=False)
    except Exception:  # broker down: the export sweep sends it again
        logger.warning("export task for %s not sent; the sweep will send it", export_id)


@transaction.atomic
def export_request(
    *, incident: Incident, actor: User, deal_ids: Sequence[str] | None = None
) -> TimelineExport:
    """Queue an export of the deals' timelines (default: the incident's affected deals)."""
    require_perm(actor, LedgerPerm.REQUEST_EXPORT, _("You may not request timeline exports."))
    raw = list(incident.affected_deals or []) if deal_ids is None else list(deal_ids)
    cleaned = sorted({str(d).strip() for d in raw if str(d).strip()})
    if not cleaned:
        raise DomainError(
            _("No deals to export: the incident has no affected deals; name some deal ids."),
            fields={"deal_ids": [_("At least one deal id is required.")]},
        )
    if len(cleaned) > MAX_EXPORT_DEALS:
        raise DomainError(
            _("At most %(n)d deals per export.") % {"n": MAX_EXPORT_DEALS},
            fields={"deal_ids": [_("Too many deal ids.")]},
        )
    export = TimelineExport.objects.create(incident=incident, deal_ids=cleaned, requested_by=actor)
    timeline_record(
        incident=incident,
        kind=TimelineKind.NOTE,
        actor=actor,
        message=_("Timeline export #%(id)d requested for %(n)d deal(s).")
        % {"id": export.pk, "n": len(cleaned)},
        data={"export": export.pk, "deal_ids": cleaned[:1000]},
    )
    record(
        event=AuditEventType.EXPORT_REQUESTED,
        actor=actor,
        target=export,
        data={"incident": incident.number, "deals": len(cleaned)},
    )
    transaction.on_commit(lambda: _dispatch(export.pk))
    return export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits like PostgreSQL's numeric::text (never 1E-8)
    return value


def _rows(deal_ids: list[str]) -> Iterator[tuple[tuple[Any, ...], str, dict[str, Any]]]:
    """Every row of the deals, ordered per deal (by the deal's row id), then kind, then time —
    a k-way merge of four server-side cursors, so memory stays flat."""

    def source(rank: int, kind: str, model: Any, fields: tuple[str, ...], at: str) -> Iterator[Any]:
        qs = (
            model.objects.filter(deal_id__in=deal_ids)
            .order_by("deal__id", at, "id")
            .values("id", "deal_id", "deal__id", *fields)
        )
        for row in qs.iterator(chunk_size=CHUNK):
            yield (row["deal__id"], rank, row[at], row["id"]), kind, row

    streams = [source(rank, *spec) for rank, spec in enumerate(SOURCES)]
    yield from heapq.merge(*streams, key=lambda item: item[0])


def _line(kind: str, row: dict[str, Any]) -> bytes:
    out = {k: _plain(v) for k, v in row.items() if k not in ("id", "deal__id")}
    out["type"] = kind
    line = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (line + "\n").encode()


def _count(deal_ids: list[str]) -> dict[str, int]:
    return {
        kind: model.objects.filter(deal_id__in=deal_ids).count() for kind, model, _f, _a in SOURCES
    }


def _file_name(export: TimelineExport) -> str:
    return f"incident-{export.incident.number:03d}/export-{export.pk}-deal-timelines.jsonl"


def _claim(export_id: int) -> TimelineExport | None:
    with transaction.atomic():
        export = (
            TimelineExport.objects.select_for_update(of=("self",))
            .select_related("incident", "requested_by")
            .filter(pk=export_id)
            .first()
        )
        if export is None or export.status == ExportStatus.DONE:
            return None  # a done export is never redone
        export.status = ExportStatus.RUNNING
        export.started_at = timezone.now()
        export.rows_done = 0
        export.rows_total = None
        export.error = ""
        export.save(update_fields=["status", "started_at", "rows_done", "rows_total", "error"])
        return export


def _write_sql(export: TimelineExport, out: IO[bytes]) -> tuple[str, dict[str, int]]:
    """PostgreSQL: the lines come ready-made from the database (``export_sql``), in chunks."""
    digest = hashlib.sha256()
    kinds = [s[0] for s in SOURCES]
    counts = dict.fromkeys(kinds, 0)
    every = max(1, settings.LEDGER_AUDIT_EXPORT_PROGRESS_EVERY)
    done = 0
    for ranks, data in timeline_chunks(SOURCES, list(export.deal_ids), min(CHUNK, every)):
        out.write(data)
        digest.update(data)
        for rank in ranks:
            counts[kinds[rank]] += 1
        before, done = done, done + len(ranks)
        if done // every > before // every:
            TimelineExport.objects.filter(pk=export.pk).update(rows_done=done)
    return digest.hexdigest(), counts


def _write(export: TimelineExport, out: IO[bytes]) -> tuple[str, dict[str, int]]:
    if connection.vendor == "postgresql":
        return _write_sql(export, out)
    digest = hashlib.sha256()
    counts = dict.fromkeys((s[0] for s in SOURCES), 0)
    every = max(1, settings.LEDGER_AUDIT_EXPORT_PROGRESS_EVERY)
    for done, (_key, kind, row) in enumerate(_rows(list(export.deal_ids)), start=1):
        line = _line(kind, row)
        out.write(line)
        digest.update(line)
        counts[kind] += 1
        if done % every == 0:
            TimelineExport.objects.filter(pk=export.pk).update(rows_done=done)
    return digest.hexdigest(), counts


def export_run(*, export_id: int) -> TimelineExport | None:
    """Run (or re-run after a crash) one export. Returns None when there is nothing to do."""
    export = _claim(export_id)
    if export is None:
        return None
    counts_before = _count(list(export.deal_ids))
    TimelineExport.objects.filter(pk=export.pk).update(rows_total=sum(counts_before.values()))
    storage = exports_storage()
    name = _file_name(export)
    try:
        sha256, counts = _publish(export, storage, name)
    except Exception as exc:
        TimelineExport.objects.filter(pk=export.pk).exclude(status=ExportStatus.DONE).update(
            status=ExportStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000]
        )
        raise
    return _finish(export.pk, storage, name, sha256, counts)


def _publish(export: TimelineExport, storage: Storage, name: str) -> tuple[str, dict[str, int]]:
    """Write the file under a temporary name and move it into place in one step."""
    try:
        final_path = storage.path(name)
    except NotImplementedError:
        final_path = None
    if final_path is not None:  # filesystem: temp file beside the target, then os.replace
        os.makedirs(os.path.dirname(final_path), exist_ok=True)
        temp_path = f"{final_path}.{uuid.uuid4().hex}.part"
        try:
            with open(temp_path, "wb") as out:
                sha256, counts = _write(export, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_path, final_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp_path)
        return sha256, counts
    # Remote storage (S3...): spool locally, then upload under the final name.
    with tempfile.TemporaryFile() as spool:
        sha256, counts = _write(export, spool)
        spool.seek(0)
        if storage.exists(name):
            storage.delete(name)
        saved = storage.save(name, File(spool))
        if saved != name:
            raise DomainError(f"storage saved the export as {saved!r}, not {name!r}")
    return sha256, counts


def _manifest(
    export: TimelineExport, name: str, sha256: str, counts: dict[str, int]
) -> dict[str, Any]:
    return {
        "export_id": export.pk,
        "incident": export.incident.number,
        "incident_label": export.incident.label,
        "file": name,
        "format": "jsonl",
        "sha256": sha256,
        "rows": counts,
        "rows_total": sum(counts.values()),
        "deal_count": len(export.deal_ids),
        "requested_by": export.requested_by.get_username() if export.requested_by else None,
        "requested_at": export.requested_at.isoformat(),
        "finished_at": timezone.now().isoformat(),
    }


@transaction.atomic
def _finish(
    export_id: int, storage: Storage, name: str, sha256: str, counts: dict[str, int]
) -> TimelineExport | None:
    export = (
        TimelineExport.objects.select_for_update(of=("self",))
        .select_related("incident", "requested_by")
        .get(pk=export_id)
    )
    if export.status == ExportStatus.DONE:
        return None  # another delivery finished first; its file is the one on record
    manifest = _manifest(export, name, sha256, counts)
    manifest_name = f"{name}.manifest.json"
    if storage.exists(manifest_name):
        storage.delete(manifest_name)
    storage.save(manifest_name, ContentFile(json.dumps(manifest, indent=2).encode()))
    export.status = ExportStatus.DONE
    export.file_name = name
    export.sha256 = sha256
    export.manifest = manifest
    export.rows_done = manifest["rows_total"]
    export.rows_total = manifest["rows_total"]
    export.finished_at = timezone.now()
    export.save()
    note = _("Export #%(id)d: %(rows)d rows, SHA-256 %(sha)s") % {
        "id": export.pk,
        "rows": manifest["rows_total"],
        "sha": sha256,
    }
    incident_bound_action_done(
        incident=export.incident,
        action=BoundAction.EXPORT_TIMELINES,
        actor=export.requested_by,
        note=note,
        data={"export": export.pk, "sha256": sha256},
    )
    timeline_record(
        incident=export.incident,
        kind=TimelineKind.EXPORT_FINISHED,
        actor=export.requested_by,
        message=_(
            "Timeline export #%(id)d finished: %(rows)d rows of %(deals)d deal(s), SHA-256 %(sha)s."
        )
        % {
            "id": export.pk,
            "rows": manifest["rows_total"],
            "deals": len(export.deal_ids),
            "sha": sha256,
        },
        data={"export": export.pk, "manifest": manifest},
    )
    record(
        event=AuditEventType.EXPORT_DONE,
        actor=export.requested_by,
        target=export,
        data={"incident": export.incident.number, "sha256": sha256, "rows": manifest["rows_total"]},
    )
    return export


def export_can_download(*, user: Any) -> bool:
    return bool(user.has_perm(LedgerPerm.DOWNLOAD_EXPORT))


@transaction.atomic
def export_download_open(*, export: TimelineExport, actor: User, via: str) -> IO[bytes]:
    """Open a finished export for download and log who downloaded it."""
    if not export_can_download(user=actor):
        raise NotAllowed(_("You may not download timeline exports."))
    if export.status != ExportStatus.DONE:
        raise Conflict(
            _("Export #%(id)d is %(status)s; only a finished export can be downloaded.")
            % {"id": export.pk, "status": export.status},
            code="export_not_ready",
        )
    download = ExportDownload.objects.create(export=export, user=actor, via=via)
    record(
        event=AuditEventType.EXPORT_DOWNLOAD,
        actor=actor,
        target=download,
        data={"export": export.pk, "via": via},
    )
    return exports_storage().open(export.file_name, "rb")


def export_requeue_stale(*, older_than: datetime) -> int:
    """Send the task again for exports still queued after ``older_than`` (lost messages)."""
    ids = list(
        TimelineExport.objects.filter(
            status=ExportStatus.QUEUED, requested_at__lt=older_than
        ).values_list("id", flat=True)[:100]
    )
    for export_id in ids:
        _dispatch(export_id)
    return len(ids)


def export_parts_sweep(*, older_than: datetime) -> list[str]:
    """Delete the temporary ``*.part`` files of exports whose writer died (a killed worker
    never reaches its ``finally``). A live writer touches its file at every chunk, so only a
    file untouched since ``older_than`` is abandoned. Remote storages spool in the worker's own
    temporary directory, which the operating system clears: nothing to do there."""
    storage = exports_storage()
    try:
        root = storage.path("")
    except NotImplementedError:
        return []
    cutoff = older_than.timestamp()
    removed: list[str] = []
    for folder, _dirs, files in os.walk(root):
        for file_name in files:
            if not file_name.endswith(".part"):
                continue
            path = os.path.join(folder, file_name)
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_mtime < cutoff:
                    os.remove(path)
                    removed.append(os.path.relpath(path, root))
    if removed:
        logger.warning("removed %d abandoned export part file(s): %s", len(removed), removed)
    return sorted(removed)
