"""``make bench`` → ``DJANGO_ENV=bench python -m bench.run``.

Runs the benchmark cases (``BENCH_ONLY=case1,case3`` for a subset) against the bench
PostgreSQL database and Redis database, prints every figure with its target, writes
``bench/results.json`` and ``bench/results.md`` and refreshes the README's marked block.
A partial run keeps the previous figures of the cases it did not run."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

CASES = {
    "case1": "bench.case1_config",
    "case2": "bench.case2_ingest",
    "case3": "bench.case3_detect",
    "case5": "bench.case5_console",  # before case 4: it reuses case 3's 1,000,000 entries
    "case4": "bench.case4_export",
    "case6": "bench.case6_sla",
    "case7": "bench.case7_alerts",
}


def selected() -> list[str]:
    only = [c.strip().lower() for c in os.environ.get("BENCH_ONLY", "").split(",") if c.strip()]
    only = [c if c.startswith("case") else f"case{c}" for c in only]
    unknown = sorted(set(only) - set(CASES))
    if unknown:
        raise SystemExit(f"BENCH_ONLY names unknown cases: {', '.join(unknown)}")
    return [c for c in CASES if not only or c in only]


def setup() -> None:
    os.environ.setdefault("DJANGO_ENV", "bench")
    from config.env import settings_module

    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench.common import ensure_database, log
    from bench.data import ensure_meta_table
    from core.services import roles_bootstrap

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns otherwise
    ensure_database()
    log("migrating the bench database")
    call_command("migrate", verbosity=0, interactive=False)
    roles_bootstrap()
    ensure_meta_table()


def _previous() -> dict[str, Any]:
    from bench.report import BENCH_DIR

    path = BENCH_DIR / "results.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def main() -> int:
    started = time.monotonic()
    setup()
    from bench import report
    from bench.common import log, machine_info

    names = selected()
    figures: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for name in names:
        log(f"=== {name} ===")
        case_started = time.monotonic()
        try:
            module = importlib.import_module(CASES[name])
            figures.extend(module.run())
        except Exception as exc:
            traceback.print_exc()
            errors.append({"case": int(name[4:]), "error": f"{exc.__class__.__name__}: {exc}"})
        log(f"{name} took {time.monotonic() - case_started:.0f} s")
    ran = {int(n[4:]) for n in names}
    previous = _previous()
    kept = [f for f in previous.get("figures", []) if f["case"] not in ran]
    results = {
        "machine": machine_info(),
        "cases": sorted(ran),
        "seconds": round(time.monotonic() - started, 1),
        "figures": sorted(kept + figures, key=lambda f: f["case"]),
        "errors": errors,
    }
    markdown = report.write(results)
    report.update_readme(markdown)
    print()
    print(markdown)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
