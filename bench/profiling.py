"""Profiles of missed targets (pyinstrument, when installed): text files in bench/profiles/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import log

PROFILES = Path(__file__).resolve().parent / "profiles"
FLAT_TOP = 40


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
    # The call tree, with Django's admin and template frames shown (a library's frames are folded
    # away by default, and they are where a console page's time goes), then the functions with the
    # most time of their own.
    tree = profiler.output_text(
        unicode=False,
        color=False,
        processor_options={"show_regex": r".*django/(contrib/admin|template)/.*"},
    )
    flat = profiler.output_text(unicode=False, color=False, flat=True).splitlines()
    path.write_text(f"{tree}\nTime of their own (top {FLAT_TOP}):\n" + "\n".join(flat[:FLAT_TOP]))
    log(f"profile written to {path.relative_to(PROFILES.parent.parent)}")
    return str(path.relative_to(PROFILES.parent.parent))


def shares(fn: Callable[[], Any], parts: dict[str, tuple[str, str]]) -> dict[str, float]:
    """The share of ``fn``'s time spent under each named function (cProfile cumulative times;
    the profiler slows everything down, so the shares are the figure to read, not the times).
    ``parts`` maps a label to (the end of the function's file path, the function's name)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1.0  # all own time = the whole run
    out = {}
    for label, (path_end, function) in parts.items():
        cumulative = sum(
            v[3] for k, v in stats.items() if k[0].endswith(path_end) and k[2] == function
        )
        out[label] = round(cumulative / total, 3)
    return out
