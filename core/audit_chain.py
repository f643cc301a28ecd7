"""Tamper-evident audit trail: one append-only hash chain over the audited rows.

Each audited write (an incident timeline entry, a pilot config revision, every state of a change
request, a timeline export when requested and when done, every export download) appends one
``AuditLink`` in the same transaction as the row, under a lock, so links are numbered 1, 2, 3…
without gaps in commit order:

* ``digest`` = SHA-256 of a canonical JSON of the row as stored (re-read inside the transaction);
* ``hash`` = SHA-256 of ``prev_hash | digest | seq | label | record_pk``; ``prev_hash`` is the
  previous link's hash (64 zeros for the first).

``python manage.py verify_audit`` recomputes every hash and, for each record, the digest of its
latest link against the row in the database: an edited row (digest mismatch), a deleted row
(missing), an edited, inserted or deleted link (hash mismatch or a gap) is reported with the first
broken link. On PostgreSQL the links table refuses UPDATE and DELETE (trigger).

Lock order: the chain lock is taken after the rows the caller locks, so append the link as the
last write of a step (a deadlock needs a transaction that locks a row after holding the chain).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain ("audit" in ASCII).
_LOCK_KEY = 0x6175646974


class AuditLink(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now)
    label = models.CharField(max_length=64)
    record_pk = models.CharField(max_length=64)
    event = models.CharField(max_length=32, blank=True)
    digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        app_label = "core"
        ordering = ["seq"]
        verbose_name = "audit link"
        indexes = [models.Index(fields=["label", "record_pk"], name="core_auditlink_record")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.label}:{self.record_pk} {self.event}"


# --- what is audited, and which fields of it ---------------------------------------------------

FieldPicker = Callable[[dict[str, Any]], dict[str, Any]]

_EXPORT_REQUEST_FIELDS = ("id", "incident_id", "deal_ids", "requested_by_id", "requested_at")


def _export_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A running export changes (progress, retries): only the request is sealed until done."""
    if row.get("status") == "done":
        return {k: v for k, v in row.items() if k not in ("rows_done", "error", "started_at")}
    return {k: row[k] for k in _EXPORT_REQUEST_FIELDS}


AUDITED: dict[str, FieldPicker] = {
    "incidents.timelineentry": dict,
    "pilot.configrevision": dict,
    "pilot.changerequest": dict,
    "ledger_audit.timelineexport": _export_fields,
    "ledger_audit.exportdownload": dict,
}


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def _columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


class _Encoder(json.JSONEncoder):
    """Exact forms: full-precision datetimes (DjangoJSONEncoder drops microseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime | date | time):
            return o.isoformat()
        if isinstance(o, Decimal | uuid.UUID):
            return str(o)
        if isinstance(o, bytes | memoryview):
            return bytes(o).hex()
        return super().default(o)


def _canonical(value: Any) -> str:
    return json.dumps(value, cls=_Encoder, sort_keys=True, separators=(",", ":"))


def row_digest(label: str, row: dict[str, Any]) -> str:
    picked = AUDITED[label](row)
    return hashlib.sha256(_canonical({"label": label, "row": picked}).encode()).hexdigest()


def link_hash(*, prev_hash: str, digest: str, seq: int, label: str, record_pk: str) -> str:
    material = f"{prev_hash}|{digest}|{seq}|{label}|{record_pk}"
    return hashlib.sha256(material.encode()).hexdigest()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # SQLite: transactions are IMMEDIATE (one writer at a time) — already serialised.


def link_append(obj: models.Model, *, event: str = "") -> AuditLink:
    """Append the link of ``obj`` (already saved) in the caller's transaction."""
    label = obj._meta.label_lower
    if label not in AUDITED:
        raise ValueError(f"{label} is not an audited model")
    model = type(obj)
    with transaction.atomic(savepoint=False):
        row = model._default_manager.filter(pk=obj.pk).values(*_columns(model)).get()
        digest = row_digest(label, row)
        _lock()
        last = AuditLink.objects.order_by("-seq").values("seq", "hash").first()
        seq = (last["seq"] if last else 0) + 1
        prev = last["hash"] if last else GENESIS
        record_pk = str(obj.pk)
        return AuditLink.objects.create(
            seq=seq,
            label=label,
            record_pk=record_pk,
            event=event[:32],
            digest=digest,
            prev_hash=prev,
            hash=link_hash(
                prev_hash=prev, digest=digest, seq=seq, label=label, record_pk=record_pk
            ),
        )


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    seq: int
    label: str
    record_pk: str
    problem: str

    def __str__(self) -> str:
        return f"link #{self.seq} ({self.label} {self.record_pk}): {self.problem}"


@dataclass(frozen=True)
class Verification:
    links: int
    broken: list[Broken]

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first(self) -> Broken | None:
        return min(self.broken, key=lambda b: b.seq) if self.broken else None


def _iter_links(chunk: int = 5000) -> Iterator[AuditLink]:
    yield from AuditLink.objects.order_by("seq").iterator(chunk_size=chunk)


def chain_verify(*, chunk: int = 2000) -> Verification:
    """Recompute the chain and each record's latest digest. Never raises on bad data."""
    broken: list[Broken] = []
    latest: dict[tuple[str, str], AuditLink] = {}
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for link in _iter_links():
        count += 1
        if link.seq != expected_seq:
            broken.append(
                Broken(
                    expected_seq,
                    link.label,
                    link.record_pk,
                    f"link missing (next link found is #{link.seq})",
                )
            )
            expected_seq = link.seq
        if link.prev_hash != prev_hash:
            broken.append(Broken(link.seq, link.label, link.record_pk, "prev_hash does not match"))
        recomputed = link_hash(
            prev_hash=link.prev_hash,
            digest=link.digest,
            seq=link.seq,
            label=link.label,
            record_pk=link.record_pk,
        )
        if recomputed != link.hash:
            broken.append(
                Broken(link.seq, link.label, link.record_pk, "hash mismatch (link edited)")
            )
        prev_hash = link.hash
        expected_seq += 1
        latest[(link.label, link.record_pk)] = link
    by_label: dict[str, list[AuditLink]] = {}
    for (label, _pk), link in latest.items():
        by_label.setdefault(label, []).append(link)
    for label, links in by_label.items():
        if label not in AUDITED:
            broken.extend(Broken(k.seq, label, k.record_pk, "unknown record type") for k in links)
            continue
        model = _model(label)
        pk_field = model._meta.pk
        for start in range(0, len(links), chunk):
            part = links[start : start + chunk]
            pks = [pk_field.to_python(k.record_pk) for k in part]
            rows = {
                str(r["pk_"]): r
                for r in model._default_manager.filter(pk__in=pks).values(
                    *_columns(model), pk_=models.F("pk")
                )
            }
            for k in part:
                row = rows.get(k.record_pk)
                if row is None:
                    broken.append(Broken(k.seq, label, k.record_pk, "row missing (deleted)"))
                    continue
                row.pop("pk_")
                if row_digest(label, row) != k.digest:
                    broken.append(Broken(k.seq, label, k.record_pk, "digest mismatch (row edited)"))
    return Verification(links=count, broken=broken)
