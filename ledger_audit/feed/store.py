"""Storing a validated batch: one transaction, one SELECT of stored ids, bulk writes, outbox."""

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Unprocessable
from ledger_audit.feed.validation import (
    DISPUTE_FIELDS,
    ENTRY_FIELDS,
    EVENT_FIELDS,
    TIMER_FIELDS,
    FeedResult,
    dispute_expiry,
    validate_items,
)
from ledger_audit.metrics import counted_feed
from ledger_audit.models import (
    Deal,
    DealEvent,
    DetectionWork,
    Dispute,
    LedgerEntry,
    Timer,
)

logger = logging.getLogger(__name__)


class _Changed(Exception):
    """Raised inside the batch transaction (rolling it back) when stored ids got another body."""

    def __init__(self, ids: list[str], changes: list[dict[str, Any]]) -> None:
        self.ids = ids
        self.changes = changes


# --- storing ----------------------------------------------------------------------------------


def _ensure_deals(deal_ids: Iterable[str]) -> None:
    """Create the deals not seen yet (first reference by any item)."""
    ids = sorted(set(deal_ids))
    now = timezone.now()
    _insert_ignore(
        Deal,
        {
            "deal_id": ids,
            "state": [""] * len(ids),
            "template_version": [""] * len(ids),
            "first_seen_at": [now] * len(ids),
        },
    )


def _insert_ignore(model: Any, columns: dict[str, list[Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING of column-wise values; returns the rows inserted (-1:
    unknown). On PostgreSQL one statement with one array parameter per column (``unnest``): no
    per-row SQL compilation on the feed's hot path; elsewhere the ORM's ``bulk_create``."""
    names = list(columns)
    size = len(columns[names[0]])
    if size == 0:
        return 0
    fields = [model._meta.get_field(c) for c in names]
    if connection.vendor != "postgresql":
        objs = [
            model(**{f.attname: columns[n][i] for n, f in zip(names, fields, strict=True)})
            for i in range(size)
        ]
        model.objects.bulk_create(objs, ignore_conflicts=True, batch_size=500)
        return -1
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"  # noqa: S608 - identifiers from model metadata
    with connection.cursor() as cursor:
        cursor.execute(sql, [columns[n] for n in names])
        return int(cursor.rowcount)


def _columns(
    rows: Sequence[dict[str, Any]], names: Sequence[str], **constant: Any
) -> dict[str, list[Any]]:
    out = {n: [r[n] for r in rows] for n in names}
    for name, value in constant.items():
        out[name] = [value] * len(rows)
    return out


def _dispatch_detection(work_id: int) -> None:
    from ledger_audit import tasks  # the task module imports the services; import late

    try:
        tasks.detect_work.apply_async((work_id,), retry=False)
    except Exception:  # broker down: the outbox sweep picks the work up
        logger.warning("detection task for work %s not sent; the sweep will run it", work_id)


def _enqueue_detection(deal_ids: Iterable[str], keys: Iterable[str] = ()) -> DetectionWork:
    work = DetectionWork.objects.create(deal_ids=sorted(set(deal_ids)), keys=sorted(set(keys)))
    transaction.on_commit(lambda: _dispatch_detection(work.pk))
    return work


def _dedupe(
    rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], fixed: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Collapse repeats of one id within a batch (the last one wins); report ids whose fixed
    fields disagree within the batch."""
    latest: dict[Any, dict[str, Any]] = {}
    changed: list[str] = []
    for row in rows:
        k = key(row)
        previous = latest.get(k)
        if previous is not None and any(previous[f] != row[f] for f in fixed):
            changed.append(str(k))
        latest[k] = row
    return list(latest.values()), changed


def _refuse(ids: Sequence[str], what: str) -> Unprocessable:
    shown = ", ".join(sorted(set(ids))[:20])
    return Unprocessable(
        _(
            "%(n)d %(what)s already stored with a different body (ids: %(ids)s); nothing of this "
            "batch was stored."
        )
        % {"n": len(set(ids)), "what": what, "ids": shown},
        code="changed_items",
        fields={"ids": sorted(set(ids))},
    )


@counted_feed("deal_events")
def feed_deal_events_ingest(*, items: Sequence[Any]) -> FeedResult:
    rows = validate_items(items, EVENT_FIELDS, None)
    rows, changed = _dedupe(
        rows, lambda r: (r["deal_id"], r["state"], r["occurred_at"]), ["template_version"]
    )
    if changed:
        raise _refuse(changed, _("deal event(s)"))
    try:
        return _store_events(rows)
    except _Changed as exc:
        raise _refuse(exc.ids, _("deal event(s)")) from None


@transaction.atomic
def _store_events(rows: list[dict[str, Any]]) -> FeedResult:
    deal_ids = {r["deal_id"] for r in rows}
    stored_versions = {
        (d, s, t.timestamp()): v
        for d, s, t, v in DealEvent.objects.filter(deal_id__in=deal_ids).values_list(
            "deal_id", "state", "occurred_at", "template_version"
        )
    }
    new: list[DealEvent] = []
    changed: list[str] = []
    now = timezone.now()
    for r in rows:
        identity = (r["deal_id"], r["state"], r["occurred_at"].timestamp())
        version = stored_versions.get(identity)
        if version is None:
            new.append(
                DealEvent(
                    deal_id=r["deal_id"],
                    state=r["state"],
                    occurred_at=r["occurred_at"],
                    template_version=r["template_version"],
                    received_at=now,
                )
            )
        elif version != r["template_version"]:
            changed.append(f"{r['deal_id']}/{r['state']}/{r['occurred_at'].isoformat()}")
    if changed:
        raise _Changed(changed, [])
    if new:
        touched = {e.deal_id for e in new}
        _ensure_deals(touched)
        # Batches touching the same deals take turns, so each one's state refresh below sees
        # the other's committed events (a deal's state is its latest event, whoever sent it).
        list(
            Deal.objects.select_for_update()
            .filter(deal_id__in=touched)
            .order_by("deal_id")
            .values_list("id", flat=True)
        )
        _insert_ignore(
            DealEvent,
            {
                "deal": [e.deal_id for e in new],
                "state": [e.state for e in new],
                "occurred_at": [e.occurred_at for e in new],
                "template_version": [e.template_version for e in new],
                "received_at": [now] * len(new),
            },
        )
        _refresh_deal_state(touched)
        _enqueue_detection(touched)
    return FeedResult(stored=len(new), unchanged=len(rows) - len(new))


def _refresh_deal_state(deal_ids: set[str]) -> None:
    """Two set-based UPDATEs: current state = latest event by occurred_at; template version =
    the first event carrying one, set once and never changed."""
    latest = DealEvent.objects.filter(deal_id=OuterRef("deal_id")).order_by("-occurred_at", "-id")
    Deal.objects.filter(deal_id__in=deal_ids).update(
        state=Subquery(latest.values("state")[:1]),
        state_since=Subquery(latest.values("occurred_at")[:1]),
    )
    first_version = (
        DealEvent.objects.filter(deal_id=OuterRef("deal_id"))
        .exclude(template_version="")
        .order_by("occurred_at", "id")
        .values("template_version")[:1]
    )
    Deal.objects.filter(deal_id__in=deal_ids, template_version="").update(
        template_version=Coalesce(Subquery(first_version), Value(""))
    )


ENTRY_BODY = ("deal_id", "idempotency_key", "kind", "amount", "currency", "created_at")


@counted_feed("ledger_entries")
def feed_ledger_entries_ingest(*, items: Sequence[Any]) -> FeedResult:
    rows = validate_items(items, ENTRY_FIELDS, None)
    rows, changed_in_batch = _dedupe(rows, lambda r: r["entry_id"], ENTRY_BODY)
    try:
        if changed_in_batch:
            raise _Changed(
                changed_in_batch,
                [{"entry_id": i, "change": "two bodies in one batch"} for i in changed_in_batch],
            )
        return _store_entries(rows)
    except _Changed as exc:
        from ledger_audit.services.findings import finding_record_changed_entries

        # Its own transaction: the batch is refused, the finding stays.
        finding_record_changed_entries(changes=exc.changes)
        raise _refuse(exc.ids, _("ledger entry(ies)")) from None


def _entry_changes(rows: list[dict[str, Any]]) -> tuple[set[str], list[dict[str, Any]]]:
    """Compare the batch against what is stored: ids already stored identically, and changes."""
    by_id = {r["entry_id"]: r for r in rows}
    same: set[str] = set()
    changes: list[dict[str, Any]] = []
    stored_rows = _where_in(LedgerEntry.objects.all(), "entry_id", list(by_id))
    for stored in stored_rows.values("entry_id", *ENTRY_BODY):
        incoming = by_id[stored["entry_id"]]
        diff = {
            f: [_plain(stored[f]), _plain(incoming[f])]
            for f in ENTRY_BODY
            if stored[f] != incoming[f]
        }
        if diff:
            changes.append(
                {
                    "entry_id": stored["entry_id"],
                    "deal_id": stored["deal_id"],
                    "idempotency_key": stored["idempotency_key"],
                    "changed": diff,
                }
            )
        else:
            same.add(stored["entry_id"])
    return same, changes


def _where_in(qs: QuerySet[Any], column: str, values: list[str]) -> QuerySet[Any]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter, not thousands."""
    if connection.vendor == "postgresql":
        name = connection.ops.quote_name(column)
        return qs.filter(RawSQL(f"{name} = ANY(%s)", (values,), output_field=BooleanField()))  # noqa: S611 - column name from code
    return qs.filter(**{f"{column}__in": values})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def _store_entries(rows: list[dict[str, Any]]) -> FeedResult:
    same, changes = _entry_changes(rows)
    if changes:
        raise _Changed([c["entry_id"] for c in changes], changes)
    new_rows = [r for r in rows if r["entry_id"] not in same]
    if new_rows:
        now = timezone.now()
        _ensure_deals(r["deal_id"] for r in new_rows)
        inserted = _insert_ignore(
            LedgerEntry, _columns(new_rows, ("entry_id", *ENTRY_BODY), received_at=now)
        )
        if inserted != len(new_rows):
            # A concurrent batch stored some of these ids first: verify what landed.
            _, raced = _entry_changes(new_rows)
            if raced:
                raise _Changed([c["entry_id"] for c in raced], raced)
        _enqueue_detection(
            (r["deal_id"] for r in new_rows), (r["idempotency_key"] for r in new_rows)
        )
    return FeedResult(stored=len(new_rows), unchanged=len(rows) - len(new_rows))


def _upsert(
    *,
    rows: list[dict[str, Any]],
    model: Any,
    id_field: str,
    fixed: Sequence[str],
    mutable: Sequence[str],
    what: str,
) -> FeedResult:
    rows, changed = _dedupe(rows, lambda r: r[id_field], fixed)
    if changed:
        raise _refuse(changed, what)
    with transaction.atomic():
        by_id = {r[id_field]: r for r in rows}
        existing = {
            s[id_field]: s
            for s in model.objects.filter(**{f"{id_field}__in": by_id}).values(
                id_field, *fixed, *mutable
            )
        }
        changed = [i for i, s in existing.items() if any(s[f] != by_id[i][f] for f in fixed)]
        if changed:
            raise _refuse(changed, what)
        write = [
            r
            for i, r in by_id.items()
            if i not in existing or any(existing[i][f] != r[f] for f in mutable)
        ]
        if write:
            now = timezone.now()
            _ensure_deals(r["deal_id"] for r in write)
            model.objects.bulk_create(
                [model(updated_at=now, **r) for r in write],
                update_conflicts=True,
                unique_fields=[id_field],
                update_fields=[*mutable, "updated_at"],
                batch_size=2000,
            )
            _enqueue_detection(r["deal_id"] for r in write)
    return FeedResult(stored=len(write), unchanged=len(rows) - len(write))


@counted_feed("timers")
def feed_timers_ingest(*, items: Sequence[Any]) -> FeedResult:
    rows = validate_items(items, TIMER_FIELDS, None)
    return _upsert(
        rows=rows,
        model=Timer,
        id_field="timer_id",
        fixed=("deal_id", "kind"),
        mutable=("expires_at", "status"),
        what=_("timer(s)"),
    )


@counted_feed("disputes")
def feed_disputes_ingest(*, items: Sequence[Any]) -> FeedResult:
    rows = validate_items(items, DISPUTE_FIELDS, dispute_expiry)
    return _upsert(
        rows=rows,
        model=Dispute,
        id_field="dispute_id",
        fixed=("deal_id", "opened_at", "ttl_seconds", "expires_at"),
        mutable=("status", "resolution", "failed_resolution_attempts"),
        what=_("dispute(s)"),
    )
