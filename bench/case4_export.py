"""Case 4: a timeline export of 200,000 rows for 1,000 deals (events, ledger entries, timers,
disputes) against ``COPY (SELECT ...) TO STDOUT`` of the same rows in the same order; the worker's
peak memory (a fresh process per export) for 200,000 rows against 20,000 rows."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Figure,
    copy_rows,
    figure,
    log,
    ratio,
    raw_connect,
    truncate,
    vacuum_analyze,
)
from bench.data import BASE, DEAL_COLUMNS, SEED, deal_id, deal_lines, forget_ledger
from bench.profiling import profile

ROOT = Path(__file__).resolve().parent.parent
DEALS = 1000
SMALL_DEALS = 100
# Per deal: 20 events + 160 ledger entries + 10 timers + 10 disputes = 200 rows.
EVENTS, ENTRIES, TIMERS, DISPUTES = 20, 160, 10, 10
STATES = ["CREATED", "FUNDED", "INSPECTION", "ISSUE", "RELEASED"]


def _ts(dt: Any) -> str:
    return str(dt.isoformat())


def _load() -> None:
    from ledger_audit.models import (
        Deal,
        DealEvent,
        DetectionWork,
        Dispute,
        Finding,
        LedgerEntry,
        TimelineExport,
        Timer,
    )

    truncate(LedgerEntry, DealEvent, Timer, Dispute, Finding, DetectionWork, TimelineExport, Deal)
    forget_ledger()
    rng = random.Random(SEED + 4)
    recv = _ts(BASE + timedelta(days=60))
    events, entries, timers, disputes = [], [], [], []
    for d in range(DEALS):
        deal = deal_id(d)
        start = BASE + timedelta(hours=d)
        for e in range(EVENTS):
            at = _ts(start + timedelta(minutes=e))
            events.append(f"{deal}\t{STATES[e % 5]}\t{at}\tv1\t{recv}\n")
        for n in range(ENTRIES):
            kind = "hold" if n == 0 else "release"
            amount = f"{rng.randrange(100, 99999) / 100:.8f}"
            at = _ts(start + timedelta(seconds=30 * n))
            entries.append(
                f"X{d:05d}-{n:04d}\t{deal}\tXK{d:05d}-{n:04d}\t{kind}\t{amount}\tEUR\t{at}\t{recv}\n"
            )
        for t in range(TIMERS):
            at = _ts(start + timedelta(days=1, minutes=t))
            timers.append(f"T{d:05d}-{t:02d}\t{deal}\tinspection\t{at}\texpired\t{recv}\n")
        for p in range(DISPUTES):
            opened = start + timedelta(hours=2, minutes=p)
            disputes.append(
                f"P{d:05d}-{p:02d}\t{deal}\t{_ts(opened)}\t86400\t"
                f"{_ts(opened + timedelta(days=1))}\tresolved\trefund\t[]\t{recv}\n"
            )
    with raw_connect() as conn:
        conn.execute("SET session_replication_role = replica")
        copy_rows(conn, Deal._meta.db_table, DEAL_COLUMNS, deal_lines(DEALS))
        copy_rows(
            conn,
            DealEvent._meta.db_table,
            ["deal_id", "state", "occurred_at", "template_version", "received_at"],
            events,
        )
        copy_rows(
            conn,
            LedgerEntry._meta.db_table,
            [
                "entry_id",
                "deal_id",
                "idempotency_key",
                "kind",
                "amount",
                "currency",
                "created_at",
                "received_at",
            ],
            entries,
        )
        copy_rows(
            conn,
            Timer._meta.db_table,
            ["timer_id", "deal_id", "kind", "expires_at", "status", "updated_at"],
            timers,
        )
        copy_rows(
            conn,
            Dispute._meta.db_table,
            [
                "dispute_id",
                "deal_id",
                "opened_at",
                "ttl_seconds",
                "expires_at",
                "status",
                "resolution",
                "failed_resolution_attempts",
                "updated_at",
            ],
            disputes,
        )
    vacuum_analyze(Deal, DealEvent, LedgerEntry, Timer, Dispute)


def _copy_sql(deals: list[str]) -> Any:
    """The export's rows in the export's order (per deal, then kind, then time), as JSON text."""
    from psycopg import sql as q

    ids = q.Literal(deals)
    parts = []
    for rank, (table, at) in enumerate(
        [
            ("ledger_audit_dealevent", "occurred_at"),
            ("ledger_audit_ledgerentry", "created_at"),
            ("ledger_audit_timer", "expires_at"),
            ("ledger_audit_dispute", "opened_at"),
        ]
    ):
        parts.append(
            q.SQL(
                "SELECT d.id AS dk, {rank} AS rk, x.{at} AS at, x.id AS id, "
                "row_to_json(x)::text AS line FROM {table} x "
                "JOIN ledger_audit_deal d ON d.deal_id = x.deal_id "
                "WHERE x.deal_id = ANY({ids})"
            ).format(rank=q.Literal(rank), at=q.Identifier(at), table=q.Identifier(table), ids=ids)
        )
    union = q.SQL(" UNION ALL ").join(parts)
    return q.SQL("COPY (SELECT u.line FROM ({union}) u ORDER BY dk, rk, at, id) TO STDOUT").format(
        union=union
    )


def _copy_out(deals: list[str]) -> tuple[float, int, int]:
    statement = _copy_sql(deals)
    with raw_connect() as conn, conn.cursor() as cur:
        start = time.perf_counter()
        rows = size = 0
        with cur.copy(statement) as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")
        return time.perf_counter() - start, rows, size


# Peak memory: VmHWM, the high-water RSS of the process's own address space. ru_maxrss would do
# on its own, but Linux carries it over fork+exec: a child of this (large) runner reports the
# runner's peak. Both are recorded.
CHILD = """
import json, os, resource, sys, time
from config.env import settings_module
os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
import django
django.setup()
from ledger_audit.services import export_run
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
export = export_run(export_id=int(sys.argv[1]))
seconds = time.perf_counter() - start
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/status") as status:
    hwm = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
print(json.dumps({"seconds": seconds, "rows": export.rows_total, "ru_maxrss_kib": maxrss,
                  "peak_kib": hwm[0] if hwm else maxrss, "after_setup_ru_maxrss_kib": before,
                  "sha256": export.sha256}))
"""


def _export(deals: list[str]) -> dict[str, Any]:
    """Queue an export (as a superuser), then run it in a fresh worker-like process."""
    from django.contrib.auth.models import User

    from incidents.enums import Category, Severity, Source
    from incidents.services import incident_open
    from ledger_audit.services import export_request

    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.com", None
    )
    incident = incident_open(
        title=f"Bench export of {len(deals)} deals",
        severity=Severity.SEV2,
        category=Category.OTHER,
        actor=None,
        source=Source.PERSON,
        affected_deals=deals,
    )
    export = export_request(incident=incident, actor=user)
    env = {**os.environ, "DJANGO_ENV": "bench"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(export.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"export subprocess failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _profile(deals: list[str]) -> str | None:
    """In-process profile of an export of 20,000 rows (where the time per row goes)."""
    from django.contrib.auth.models import User

    from ledger_audit.models import TimelineExport
    from ledger_audit.services import export_run

    incident = TimelineExport.objects.order_by("id").first()
    if incident is None:
        return None
    export = TimelineExport.objects.create(
        incident=incident.incident,
        deal_ids=deals,
        requested_by=User.objects.filter(username="bench-admin").first(),
    )
    return profile("case4_export_20k", lambda: export_run(export_id=export.pk))


def run() -> list[Figure]:
    log(f"case 4: loading {DEALS * 200:,} timeline rows for {DEALS:,} deals")
    _load()
    deals = [deal_id(d) for d in range(DEALS)]
    small = _export(deals[:SMALL_DEALS])
    log(f"case 4: 20k export {small['seconds']:.2f} s, peak {small['peak_kib'] / 1024:.0f} MiB")
    big = _export(deals)
    log(f"case 4: 200k export {big['seconds']:.2f} s, peak {big['peak_kib'] / 1024:.0f} MiB")
    copy_seconds, copy_rows_out, copy_bytes = min(
        (_copy_out(deals) for _ in range(2)), key=lambda r: r[0]
    )
    export_rate = big["rows"] / big["seconds"]
    copy_rate = copy_rows_out / copy_seconds
    r_rate = ratio(export_rate, copy_rate)
    r_mem = ratio(big["peak_kib"], small["peak_kib"])
    prof = _profile(deals[:SMALL_DEALS]) if r_rate < 0.3 else None
    raw = {
        "profile": prof,
        "export_200k": big,
        "export_20k": small,
        "copy": {"seconds": copy_seconds, "rows": copy_rows_out, "bytes": copy_bytes},
    }
    return [
        figure(
            4,
            "export rows/s vs COPY (SELECT …) TO STDOUT (200,000 rows, 1,000 deals)",
            measured=f"export {export_rate:,.0f} rows/s ({big['rows']:,} in "
            f"{big['seconds']:.2f} s); COPY {copy_rate:,.0f} rows/s",
            ratio=r_rate,
            target="≥ 0.3x",
            met=r_rate >= 0.3 and big["rows"] == DEALS * 200,
            raw=raw,
        ),
        figure(
            4,
            "worker peak memory: 200,000 vs 20,000 rows",
            measured=f"{big['peak_kib'] / 1024:.0f} MiB vs {small['peak_kib'] / 1024:.0f} MiB "
            "(peak RSS, VmHWM, of a fresh process)",
            ratio=r_mem,
            target="≤ 1.2x",
            met=r_mem <= 1.2,
        ),
    ]
