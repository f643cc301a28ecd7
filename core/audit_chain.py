"""Tamper-evident audit trail: one append-only hash chain over the audited rows.

Only ``core.audit.record`` (the one audit sink) appends to it. Each call appends, in the caller's
transaction and under one lock, a link for the ``AuditEvent`` row it wrote and, when the event's
target is an audited domain row (``AUDITED``), a link for that row as it now stands; links are
numbered 1, 2, 3… without gaps in commit order:

* ``digest`` = SHA-256 of a canonical JSON of the row as stored (re-read inside the transaction),
  through the model's field picker: a row that legitimately changes outside an audited write (a
  running export's progress, an API key's ``last_used_at``) is sealed without those fields;
* a deleted target gets a tombstone digest: the row must stay gone;
* ``hash`` = SHA-256 of ``prev_hash | digest | seq | label | record_pk``; ``prev_hash`` is the
  previous link's hash (64 zeros for the first).

``python manage.py verify_audit`` recomputes every hash and, for each record, the digest of its
latest link against the row in the database: an edited row (digest mismatch), a deleted row
(missing), a row back after its recorded deletion, an edited, inserted or deleted link (hash
mismatch or a gap) is reported with the first broken link. On PostgreSQL the links table and the
audit events refuse UPDATE and DELETE (triggers).

Lock order: the chain lock is taken after the rows the caller locks, so record as the last write
of a step (a deadlock needs a transaction that locks a row after holding the chain).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain ("audit" in ASCII).
_LOCK_KEY = 0x6175646974


class AuditLink(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now)
    label = models.CharField(max_length=64)
    record_pk = models.CharField(max_length=64)
    event = models.CharField(max_length=64, blank=True)
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


class AuditCheckpoint(models.Model):
    """The chain's head (seq, hash) as published at ``at``: to the log, ``/metrics`` and the
    checkpoint listeners. A copy kept outside the database is the anchor: ``verify_audit
    --expect SEQ:HASH`` fails when the chain no longer holds that link (its tail cut off, or
    the chain rebuilt). Append-only on PostgreSQL, like the links."""

    seq = models.PositiveBigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "core"
        ordering = ["-seq"]
        verbose_name = "audit checkpoint"

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash}"


# --- what is audited, and which fields of it ---------------------------------------------------

FieldPicker = Callable[[dict[str, Any]], dict[str, Any]]

_EXPORT_REQUEST_FIELDS = ("id", "incident_id", "deal_ids", "requested_by_id", "requested_at")


def _export_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A running export changes (progress, retries): only the request is sealed until done."""
    if row.get("status") == "done":
        return {k: v for k, v in row.items() if k not in ("rows_done", "error", "started_at")}
    return {k: row[k] for k in _EXPORT_REQUEST_FIELDS}


def _without(*names: str) -> FieldPicker:
    def pick(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in names}

    return pick


# Every model whose rows an audited write seals, and which of their fields. A model absent here
# may still be an event's target (a person, say): then only the event row is sealed.
AUDITED: dict[str, FieldPicker] = {
    "core.auditevent": dict,
    # The hot path stamps last_used_at at most once a minute; nothing else changes a key unaudited.
    "core.apikey": _without("last_used_at"),
    "incidents.timelineentry": dict,
    "incidents.severitypolicy": dict,
    "incidents.playbook": dict,
    "incidents.playbookstep": dict,
    "incidents.escalationlevel": dict,
    "incidents.escalationrule": dict,
    "incidents.rostermember": dict,
    "incidents.oncallshift": dict,
    "incidents.businessholiday": dict,
    "incidents.webhookendpoint": dict,
    "pilot.configrevision": dict,
    "pilot.changerequest": dict,
    "pilot.templateversion": dict,
    "pilot.featureflag": dict,
    "pilot.webhooksubscription": dict,
    "ledger_audit.timelineexport": _export_fields,
    "ledger_audit.exportdownload": dict,
}


@dataclass(frozen=True)
class Deleted:
    """The target of an event that deleted it (``Deleted.of(obj)`` before ``obj.delete()``)."""

    label: str
    pk: str

    @classmethod
    def of(cls, obj: models.Model) -> Deleted:
        return cls(label=obj._meta.label_lower, pk=str(obj.pk))


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


def tombstone_digest(label: str, record_pk: str) -> str:
    return hashlib.sha256(_canonical({"label": label, "deleted": record_pk}).encode()).hexdigest()


def link_hash(*, prev_hash: str, digest: str, seq: int, label: str, record_pk: str) -> str:
    material = f"{prev_hash}|{digest}|{seq}|{label}|{record_pk}"
    return hashlib.sha256(material.encode()).hexdigest()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # SQLite: transactions are IMMEDIATE (one writer at a time) — already serialised.


def _sealed(target: models.Model | Deleted) -> tuple[str, str, str]:
    """(label, record_pk, digest) of a saved row as stored, or of a deleted one's tombstone."""
    if isinstance(target, Deleted):
        return target.label, target.pk, tombstone_digest(target.label, target.pk)
    label = target._meta.label_lower
    model = type(target)
    row = model._default_manager.filter(pk=target.pk).values(*_columns(model)).get()
    return label, str(target.pk), row_digest(label, row)


def chain_append(targets: Sequence[models.Model | Deleted], *, event: str) -> list[AuditLink]:
    """Append one link per target in the caller's transaction. Called by ``core.audit.record``
    only: an audited write goes through the sink, never straight to the chain."""
    unknown = [t for t in targets if _label_of(t) not in AUDITED]
    if unknown:
        raise ValueError(f"{_label_of(unknown[0])} is not an audited model")
    with transaction.atomic(savepoint=False):
        sealed = [_sealed(t) for t in targets]
        _lock()
        last = AuditLink.objects.order_by("-seq").values("seq", "hash").first()
        seq = last["seq"] if last else 0
        prev = last["hash"] if last else GENESIS
        links: list[AuditLink] = []
        for label, record_pk, digest in sealed:
            seq += 1
            link = AuditLink(
                seq=seq,
                label=label,
                record_pk=record_pk,
                event=event[:64],
                digest=digest,
                prev_hash=prev,
                hash=link_hash(
                    prev_hash=prev, digest=digest, seq=seq, label=label, record_pk=record_pk
                ),
            )
            links.append(link)
            prev = link.hash
        return AuditLink.objects.bulk_create(links)


def _label_of(target: models.Model | Deleted) -> str:
    return target.label if isinstance(target, Deleted) else target._meta.label_lower


# --- the anchor: published checkpoints ------------------------------------------------------

# Called after commit with each new checkpoint (an app that publishes it further, to its
# subscribers, registers here from its AppConfig.ready(); core imports no app).
CHECKPOINT_LISTENERS: list[Callable[[AuditCheckpoint], None]] = []


def chain_head() -> tuple[int, str] | None:
    """(seq, hash) of the newest committed link, or None for an empty chain. No lock: a
    committed link never changes, and a link committing meanwhile is the next checkpoint's."""
    last = AuditLink.objects.order_by("-seq").values_list("seq", "hash").first()
    return (int(last[0]), str(last[1])) if last else None


def checkpoint_record() -> AuditCheckpoint | None:
    """Record the chain head as a checkpoint and publish it: one structured log line (every
    run, so the log holds the head even when it has not moved) and, for a new head, the
    checkpoint listeners after commit. Idempotent: an unchanged head adds no row. None while
    the chain is empty."""
    head = chain_head()
    if head is None:
        return None
    seq, hash_ = head
    with transaction.atomic():
        checkpoint, created = AuditCheckpoint.objects.get_or_create(
            seq=seq, defaults={"hash": hash_}
        )
        if created:
            for listener in CHECKPOINT_LISTENERS:
                transaction.on_commit(partial(listener, checkpoint), robust=True)
    logger.info(
        "audit.checkpoint seq=%d hash=%s",
        checkpoint.seq,
        checkpoint.hash,
        extra={
            "event": "audit.checkpoint",
            "audit_seq": checkpoint.seq,
            "audit_hash": checkpoint.hash,
            "new": created,
        },
    )
    return checkpoint


def checkpoint_latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq").first()


_EXPECT = re.compile(r"^(?P<seq>[0-9]{1,19}):(?P<hash>[0-9a-f]{64})$")


def checkpoint_parse(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (the form the log line and /metrics publish) → (seq, hash)."""
    match = _EXPECT.match(text.strip().lower())
    if match is None or int(match["seq"]) < 1:
        raise ValueError(f"expected SEQ:HASH (a link number and 64 hex digits), got {text!r}")
    return int(match["seq"]), match["hash"]


def checkpoint_problem(seq: int, hash_: str, *, found: str | None, last_seq: int) -> str | None:
    """Why the chain no longer holds the checkpoint (seq, hash); None when it does. ``found``
    is the hash of the chain's link #seq (None: no such link), ``last_seq`` the chain's end."""
    if found is None:
        return (
            f"checkpoint #{seq} ({hash_[:16]}…) is not in the chain, which ends at "
            f"#{last_seq}: its tail was cut off"
        )
    if found != hash_:
        return (
            f"checkpoint #{seq} expected hash {hash_[:16]}…, the chain has {found[:16]}…: "
            "the chain was rebuilt or edited up to that link"
        )
    return None


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
    checkpoints: int = 0  # checkpoints (stored and expected) found in the chain

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first(self) -> Broken | None:
        return min(self.broken, key=lambda b: b.seq) if self.broken else None


def _iter_links(chunk: int = 5000) -> Iterator[AuditLink]:
    yield from AuditLink.objects.order_by("seq").iterator(chunk_size=chunk)


def chain_verify(*, chunk: int = 2000, expect: Iterable[tuple[int, str]] = ()) -> Verification:
    """Recompute the chain and each record's latest digest, and check that the chain still
    holds every stored checkpoint and each ``expect`` (seq, hash) — a checkpoint kept outside
    the database, which a consistent rebuild or a cut tail cannot match. Never raises on bad
    data."""
    broken: list[Broken] = []
    latest: dict[tuple[str, str], AuditLink] = {}
    anchors = [("expected", seq, hash_) for seq, hash_ in expect] + [
        ("stored", seq, hash_) for seq, hash_ in AuditCheckpoint.objects.values_list("seq", "hash")
    ]
    wanted = {seq for _source, seq, _hash in anchors}
    found: dict[int, str] = {}
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for link in _iter_links():
        count += 1
        if link.seq in wanted:
            found[link.seq] = link.hash
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
                gone = k.digest == tombstone_digest(label, k.record_pk)
                if row is None:
                    if not gone:
                        broken.append(Broken(k.seq, label, k.record_pk, "row missing (deleted)"))
                    continue
                if gone:
                    broken.append(
                        Broken(k.seq, label, k.record_pk, "row present after its deletion")
                    )
                    continue
                row.pop("pk_")
                if row_digest(label, row) != k.digest:
                    broken.append(Broken(k.seq, label, k.record_pk, "digest mismatch (row edited)"))
    held = 0
    for source, seq, hash_ in anchors:
        problem = checkpoint_problem(seq, hash_, found=found.get(seq), last_seq=expected_seq - 1)
        if problem is None:
            held += 1
        else:
            broken.append(Broken(seq, "checkpoint", source, problem))
    return Verification(links=count, broken=broken, checkpoints=held)
