"""Case 3: the full-scan duplicate-key detector over 1,000,000 ledger entries (100 planted
duplicate keys) against the bare GROUP BY ... HAVING on the same table; and the incremental
check of one 1,000-entry feed batch on tables of 10,000 and of 1,000,000 entries."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import Figure, figure, log, ms, ratio, sql
from bench.data import batch_items, deal_id, ledger_loaded, load_ledger
from bench.profiling import profile

BIG = (1_000_000, 100_000, 100)  # entries, deals, planted duplicate keys
SMALL = (10_000, 1_000, 10)
REPEAT = 3
INCREMENTAL_REPEAT = 5
BARE = (
    'SELECT idempotency_key FROM "ledger_audit_ledgerentry" '
    "GROUP BY idempotency_key HAVING count(*) > 1"
)


def ensure_big() -> None:
    if ledger_loaded(*BIG):
        log("case 3: 1,000,000 entries already loaded")
        return
    started = time.perf_counter()
    load_ledger(BIG[0], BIG[1], duplicates=BIG[2])
    log(f"case 3: loaded in {time.perf_counter() - started:.0f} s")


def _incremental() -> dict[str, Any]:
    """Store one 1,000-entry batch through the feed service, then time the detection run the
    batch's task performs (every detector, scoped to the batch's deals and keys)."""
    from ledger_audit.detectors import Scope, detect_duplicate_keys
    from ledger_audit.feed import feed_ledger_entries_ingest
    from ledger_audit.services import detection_run

    deals = [deal_id(d) for d in range(100)]
    items = batch_items(1000, deals, prefix="I", dup_keys=["EK00000000"])
    feed_ledger_entries_ingest(items=items)
    scope = Scope.of(deal_ids=deals, keys=[i["idempotency_key"] for i in items])
    detection_run(scope=scope)  # first run opens the findings; the timed runs refresh them
    runs, dup_runs = [], []
    for _ in range(INCREMENTAL_REPEAT):
        start = time.perf_counter()
        detection_run(scope=scope)
        runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        detect_duplicate_keys(scope, time_now())
        dup_runs.append(time.perf_counter() - start)
    return {
        "detection_run_s": statistics.median(runs),
        "duplicate_detector_s": statistics.median(dup_runs),
        "scope": {"deals": len(deals), "keys": len(scope.keys or ())},
        "_scope": scope,
    }


def time_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _remove_batch() -> None:
    sql("DELETE FROM \"ledger_audit_ledgerentry\" WHERE entry_id LIKE 'I%%'")
    sql('TRUNCATE "ledger_audit_finding", "ledger_audit_detectionwork"')


def _full_scan() -> dict[str, Any]:
    from ledger_audit.detectors import Scope, detect_duplicate_keys

    now = time_now()
    found = len(detect_duplicate_keys(Scope.full(), now))  # warm both (buffer cache)
    bare_found = len(sql(BARE))
    detector, bare = [], []
    for _ in range(REPEAT):
        start = time.perf_counter()
        detect_duplicate_keys(Scope.full(), now)
        detector.append(time.perf_counter() - start)
        start = time.perf_counter()
        sql(BARE)
        bare.append(time.perf_counter() - start)
    return {
        "detector_s": statistics.median(detector),
        "bare_s": statistics.median(bare),
        "detector_samples": detector,
        "bare_samples": bare,
        "problems_found": found,
        "bare_keys_found": bare_found,
    }


def run() -> list[Figure]:
    load_ledger(SMALL[0], SMALL[1], duplicates=SMALL[2])
    small = _incremental()
    log(f"case 3: incremental on {SMALL[0]:,}: {ms(small['detection_run_s'])}")
    ensure_big()
    full = _full_scan()
    log(f"case 3: full scan {ms(full['detector_s'])} vs bare GROUP BY {ms(full['bare_s'])}")
    big = _incremental()
    log(f"case 3: incremental on {BIG[0]:,}: {ms(big['detection_run_s'])}")
    r_full = ratio(full["detector_s"], full["bare_s"])
    r_inc = ratio(big["detection_run_s"], small["detection_run_s"])
    prof = None
    if r_inc > 2:
        from ledger_audit.services import detection_run

        scope = big["_scope"]
        prof = profile("case3_incremental_1m", lambda: detection_run(scope=scope))
    if r_full > 1.3:
        from ledger_audit.detectors import Scope, detect_duplicate_keys

        prof = profile("case3_full_scan", lambda: detect_duplicate_keys(Scope.full(), time_now()))
    _remove_batch()
    for d in (small, big):
        d.pop("_scope")
    return [
        figure(
            3,
            "full-scan duplicate detector vs bare GROUP BY (1,000,000 entries)",
            measured=f"detector {ms(full['detector_s'])}; GROUP BY {ms(full['bare_s'])}; "
            f"{full['problems_found']} of 100 planted keys found",
            ratio=r_full,
            target="≤ 1.3x",
            met=r_full <= 1.3 and full["problems_found"] == BIG[2],
            raw=full,
        ),
        figure(
            3,
            "incremental check of a 1,000-entry batch: 1,000,000 vs 10,000 entries",
            measured=f"{ms(big['detection_run_s'])} vs {ms(small['detection_run_s'])} "
            f"(duplicate detector alone {ms(big['duplicate_detector_s'])} vs "
            f"{ms(small['duplicate_detector_s'])})",
            ratio=r_inc,
            target="≤ 2x",
            met=r_inc <= 2,
            raw={"small": small, "big": big, "profile": prof},
        ),
    ]
