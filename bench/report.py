"""The results as JSON, as a Markdown table, and as the marked block of the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR.parent / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

CASE_TITLES = {
    1: "Config read",
    2: "Feed ingest",
    3: "Duplicate detection",
    4: "Timeline export",
    5: "Console at scale",
    6: "SLA sweep",
    7: "Alert storms (Alertmanager receiver)",
}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def format_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}x"


def format_table(results: dict[str, Any]) -> str:
    """Markdown: one row per figure, in case order."""
    lines = [
        "| # | Figure | Measured (raw) | Ratio | Target | Met |",
        "|---|--------|----------------|------:|--------|:---:|",
    ]
    figures = sorted(results.get("figures", []), key=lambda f: f["case"])
    for f in figures:
        title = CASE_TITLES.get(f["case"], "")
        lines.append(
            "| {case} | {name} | {measured} | {ratio} | {target} | {met} |".format(
                case=f["case"],
                name=_cell(f"{title}: {f['name']}" if title else f["name"]),
                measured=_cell(f["measured"]),
                ratio=format_ratio(f.get("ratio")),
                target=_cell(f["target"]),
                met="yes" if f["met"] else "**no**",
            )
        )
    lines.extend(
        f"| {error['case']} | {_cell(error['error'])} | — | — | — | **error** |"
        for error in results.get("errors", [])
    )
    return "\n".join(lines)


def machine_line(machine: dict[str, Any]) -> str:
    if not machine:
        return ""
    return (
        f"Measured {machine.get('date', '?')} on {machine.get('nproc', '?')} CPU(s) "
        f"({machine.get('cpu', '?')}), {machine.get('memory_gib', '?')} GiB RAM; "
        f"Python {machine.get('python', '?')}, PostgreSQL {machine.get('postgresql', '?')}, "
        f"Redis {machine.get('redis', '?')}, {machine.get('wrk', 'wrk')}."
    )


def format_markdown(results: dict[str, Any]) -> str:
    parts = [format_table(results), "", machine_line(results.get("machine", {}))]
    summary = results.get("summary")
    if summary:
        parts += ["", summary]
    return "\n".join(parts).rstrip() + "\n"


def summary_line(results: dict[str, Any]) -> str:
    figures = results.get("figures", [])
    met = sum(1 for f in figures if f["met"])
    total = len(figures)
    return (
        f"{met} of {total} targets met; `make bench` took {results.get('seconds', 0):.0f} s "
        f"(cases: {', '.join(str(c) for c in results.get('cases', []))})."
    )


def write(results: dict[str, Any], directory: Path = BENCH_DIR) -> str:
    results["summary"] = summary_line(results)
    (directory / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = format_markdown(results)
    (directory / "results.md").write_text(markdown)
    return markdown


def update_readme(markdown: str, readme: Path = README) -> None:
    """Replace the marked block; append it under "## Benchmarks" when the markers are absent."""
    text = readme.read_text() if readme.exists() else ""
    block = f"{START}\n{markdown.rstrip()}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Benchmarks\n\n`make bench` (see `bench/`)"
        text += " measures each target as a ratio against a bare limit of this stack in the"
        text += " same run.\n\n" + block + "\n"
    readme.write_text(text)
