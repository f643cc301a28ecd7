"""Reproducible data sets (fixed seeds), written with COPY: deals, ledger entries (with planted
duplicate idempotency keys), events, timers, disputes, and incidents."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import copy_rows, log, raw_connect, sql, truncate, vacuum_analyze

SEED = 20250801
BASE = datetime(2025, 6, 1, tzinfo=UTC)
STATES = ["CREATED", "FUNDED", "INSPECTION", "ISSUE", "RELEASED", "REFUNDED", "CANCELLED"]
DEAL_COLUMNS = ["deal_id", "state", "state_since", "template_version", "first_seen_at"]
ENTRY_COLUMNS = [
    "entry_id",
    "deal_id",
    "idempotency_key",
    "kind",
    "amount",
    "currency",
    "created_at",
    "received_at",
]


def deal_id(i: int) -> str:
    return f"D{i:07d}"


def _ts(dt: datetime) -> str:
    return dt.isoformat()


def deal_lines(count: int, seed: int = SEED) -> Iterator[str]:
    rng = random.Random(seed)
    for i in range(count):
        since = BASE + timedelta(minutes=i % 50000, seconds=rng.randrange(60))
        state = STATES[rng.randrange(len(STATES))]
        version = "v1" if rng.random() < 0.7 else "v2"
        yield f"{deal_id(i)}\t{state}\t{_ts(since)}\t{version}\t{_ts(BASE)}\n"


def entry_rows(
    count: int, deals: int, *, duplicates: int = 0, prefix: str = "E", seed: int = SEED
) -> list[tuple[Any, ...]]:
    """``count`` entries spread evenly over ``deals`` deals: per deal one hold, then small
    releases; ``duplicates`` entries reuse the idempotency key of another entry (planted)."""
    rng = random.Random(seed)
    per_deal = max(1, count // deals)
    rows: list[tuple[Any, ...]] = []
    for n in range(count):
        d, k = divmod(n, per_deal)
        d %= deals
        kind = "hold" if k == 0 else "release"
        amount = "1000.00000000" if k == 0 else f"{rng.randrange(100, 9999) / 100:.8f}"
        created = BASE + timedelta(seconds=n)
        rows.append(
            (f"{prefix}{n:08d}", deal_id(d), f"{prefix}K{n:08d}", kind, amount, "EUR", created)
        )
    if duplicates:
        planted = rng.sample(range(1, count), duplicates * 2)
        for victim, source in zip(planted[:duplicates], planted[duplicates:], strict=True):
            row = list(rows[victim])
            row[2] = rows[source][2]
            rows[victim] = tuple(row)
    return rows


def entry_lines(rows: list[tuple[Any, ...]]) -> Iterator[str]:
    received = _ts(BASE + timedelta(days=30))
    for entry, deal, key, kind, amount, currency, created in rows:
        yield f"{entry}\t{deal}\t{key}\t{kind}\t{amount}\t{currency}\t{_ts(created)}\t{received}\n"


def load_ledger(entries: int, deals: int, *, duplicates: int = 0) -> dict[str, Any]:
    """Empty the mirror and COPY ``deals`` deals and ``entries`` ledger entries into the real
    tables (foreign-key triggers off while loading: the rows are consistent by construction)."""
    from ledger_audit.models import (
        Deal,
        DealEvent,
        DetectionWork,
        Dispute,
        Finding,
        LedgerEntry,
        Timer,
    )

    truncate(LedgerEntry, DealEvent, Timer, Dispute, Finding, DetectionWork, Deal)
    log(f"loading {deals:,} deals and {entries:,} ledger entries ({duplicates} planted duplicates)")
    rows = entry_rows(entries, deals, duplicates=duplicates)
    with raw_connect() as conn:
        conn.execute("SET session_replication_role = replica")
        copy_rows(conn, Deal._meta.db_table, DEAL_COLUMNS, deal_lines(deals))
        copy_rows(conn, LedgerEntry._meta.db_table, ENTRY_COLUMNS, entry_lines(rows))
    vacuum_analyze(Deal, LedgerEntry)
    sql(
        "INSERT INTO bench_meta (name, value) VALUES ('ledger', %s) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        [f"{entries}/{deals}/{duplicates}"],
    )
    return {"entries": entries, "deals": deals, "duplicates": duplicates}


def ledger_loaded(entries: int, deals: int, duplicates: int) -> bool:
    from ledger_audit.models import LedgerEntry

    rows = sql("SELECT value FROM bench_meta WHERE name = 'ledger'")
    return (
        bool(rows)
        and rows[0][0] == f"{entries}/{deals}/{duplicates}"
        and LedgerEntry.objects.count() == entries
    )


def ensure_meta_table() -> None:
    sql("CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, value text NOT NULL)")


def forget_ledger() -> None:
    sql("DELETE FROM bench_meta WHERE name = 'ledger'")


def batch_items(
    count: int, deal_ids: Sequence[str], *, prefix: str, dup_keys: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """A feed batch (the API's JSON shape): ``count`` new entries over ``deal_ids``; the first
    ``len(dup_keys)`` reuse those idempotency keys."""
    items = []
    for n in range(count):
        key = dup_keys[n] if n < len(dup_keys) else f"{prefix}K{n:08d}"
        items.append(
            {
                "entry_id": f"{prefix}{n:08d}",
                "deal_id": deal_ids[n % len(deal_ids)],
                "idempotency_key": key,
                "kind": "release",
                "amount": f"{(n % 97) + 1}.25",
                "currency": "EUR",
                "created_at": _ts(BASE + timedelta(days=40, seconds=n)),
            }
        )
    return items
