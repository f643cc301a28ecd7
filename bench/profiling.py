"""Profiles of missed targets (pyinstrument, when installed): text files in bench/profiles/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import log

PROFILES = Path(__file__).resolve().parent / "profiles"


def profile(name: str, fn: Callable[[], Any], *, interval: float = 0.0005) -> str | None:
    """Run ``fn`` under pyinstrument; write the call tree to ``bench/profiles/<name>.txt``."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        log(f"pyinstrument is not installed: no profile for {name}")
        return None
    profiler = Profiler(interval=interval)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{name}.txt"
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    log(f"profile written to {path.relative_to(PROFILES.parent.parent)}")
    return str(path.relative_to(PROFILES.parent.parent))
