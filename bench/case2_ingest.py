"""Case 2: ledger entries through the feed API in batches of 1,000 (parse, validate, store,
schedule detection), end to end under gunicorn, against a raw psycopg COPY of the same rows into
a table of the same shape, in the same run."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from typing import Any

from bench.common import Figure, figure, flush_redis, log, ratio, raw_connect, sql, truncate
from bench.data import BASE, batch_items
from bench.server import Gunicorn, request

BATCH = 1000
BATCHES = int(os.environ.get("BENCH_INGEST_BATCHES", "120"))
CLIENTS = 4
PATH = "/api/v1/feed/ledger-entries/"
COPY_TABLE = "bench_copy_ledgerentry"


def _bodies(prefix: str, batches: int) -> list[bytes]:
    """Batch b: 1,000 new entries over 100 deals (10 each), deals shared between batches."""
    out = []
    for b in range(batches):
        deals = [f"F{(b * 37 + d) % 2000:07d}" for d in range(100)]
        items = batch_items(BATCH, deals, prefix=f"{prefix}{b:04d}-")
        out.append(json.dumps(items).encode())
    return out


def _reset() -> None:
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
    from bench.data import forget_ledger

    forget_ledger()
    flush_redis()


def _post_all(port: int, key: str, bodies: list[bytes]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    stored = 0
    failures: list[str] = []

    def client() -> None:
        nonlocal stored
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop(0)
            status, answer = request(port, "POST", PATH, body=body, headers=headers, conn=conn)
            with lock:
                if status == 200:
                    stored += int(json.loads(answer)["stored"])
                else:
                    failures.append(f"{status}: {answer[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {"stored": stored, "seconds": elapsed, "failures": failures}


def _copy_lines(bodies: list[bytes]) -> str:
    received = (BASE.replace(year=2026)).isoformat()
    return "".join(
        f"{i['entry_id']}\t{i['deal_id']}\t{i['idempotency_key']}\t{i['kind']}\t"
        f"{i['amount']}\t{i['currency']}\t{i['created_at']}\t{received}\n"
        for body in bodies
        for i in json.loads(body)
    )


def _copy(data: str) -> float:
    from ledger_audit.models import LedgerEntry

    sql(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    sql(f'CREATE TABLE {COPY_TABLE} (LIKE "{LedgerEntry._meta.db_table}" INCLUDING ALL)')
    cols = "entry_id, deal_id, idempotency_key, kind, amount, currency, created_at, received_at"
    with raw_connect() as conn:
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {COPY_TABLE} ({cols}) FROM STDIN") as copy:
            copy.write(data)
        elapsed = time.perf_counter() - start
    sql(f"DROP TABLE {COPY_TABLE}")
    return elapsed


def run() -> list[Figure]:
    from core.roles import Role
    from core.services import api_key_create, service_account_for_role

    _reset()
    key = api_key_create(name="bench-feed", user=service_account_for_role(role=Role.API_CLIENT)).raw
    bodies = _bodies("B", BATCHES)
    total = BATCHES * BATCH
    with Gunicorn() as server:
        warm = _post_all(server.port, key, _bodies("W", 4))
        if warm["failures"]:
            raise RuntimeError(f"feed refused the warm-up batches: {warm['failures'][:3]}")
        _reset()
        log(f"case 2: {BATCHES} batches of {BATCH} entries, {CLIENTS} concurrent clients")
        http_run = _post_all(server.port, key, bodies)
    if http_run["failures"] or http_run["stored"] != total:
        raise RuntimeError(
            f"feed stored {http_run['stored']} of {total}: {http_run['failures'][:3]}"
        )
    api_rate = total / http_run["seconds"]
    log(f"case 2: API {api_rate:,.0f} entries/s; COPY of the same rows")
    copy_seconds = min(_copy(_copy_lines(bodies)) for _ in range(2))
    copy_rate = total / copy_seconds
    r = ratio(api_rate, copy_rate)
    raw = {
        "entries": total,
        "batch": BATCH,
        "clients": CLIENTS,
        "api_seconds": round(http_run["seconds"], 3),
        "api_entries_per_s": round(api_rate),
        "copy_seconds": round(copy_seconds, 3),
        "copy_entries_per_s": round(copy_rate),
    }
    return [
        figure(
            2,
            "entries/s through the API (batches of 1,000)",
            measured=f"{api_rate:,.0f} entries/s ({total:,} in {http_run['seconds']:.1f} s)",
            ratio=None,
            target="≥ 10,000/s",
            met=api_rate >= 10_000,
            raw=raw,
        ),
        figure(
            2,
            "API ingest vs raw COPY of the same rows",
            measured=f"API {api_rate:,.0f}/s; COPY {copy_rate:,.0f}/s",
            ratio=r,
            target="≥ 0.1x",
            met=r >= 0.1,
        ),
    ]
