"""Server-side SVG charts (no JavaScript, no CDN): stacked bars and lines. Pure functions from
numbers to an SVG string; every text is escaped. Colours are fixed per series name."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40
PALETTE = {
    "SEV0": "#b71c1c",
    "SEV1": "#e65100",
    "SEV2": "#f9a825",
    "SEV3": "#607d8b",
    "MTTA": "#1565c0",
    "MTTR": "#6a1b9a",
}
FALLBACK = ("#2e7d32", "#00838f", "#5d4037", "#455a64")


def color(name: str, index: int = 0) -> str:
    return PALETTE.get(name, FALLBACK[index % len(FALLBACK)])


def nice_max(value: float) -> float:
    """A round axis maximum ≥ value (1, 2, 2.5, 5 times 10^n); 1 for empty data."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, y_max: float, unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
        'class="console-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#555">{escape(_fmt(value) + unit)}</text>'
        )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        x = LEFT + i * 90
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{color(name, i)}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="11" fill="#333">'
            f"{escape(name)}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str], step_x: float) -> list[str]:
    every = max(1, len(labels) // 10)  # at most ~10 labels
    return [
        f'<text x="{LEFT + step_x * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 14}" '
        f'text-anchor="middle" font-size="10" fill="#555">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(
    *, title: str, labels: Sequence[str], series: dict[str, Sequence[int | float]]
) -> str:
    """One bar per label, stacked by series (in the dict's order). Every series has one value
    per label."""
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    y_max = nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step_x = plot_w / max(1, len(labels))
    bar_w = max(1.0, step_x * 0.7)
    parts = _frame(title, y_max, "")
    for i, label in enumerate(labels):
        base = 0.0
        x = LEFT + step_x * i + (step_x - bar_w) / 2
        for j, (name, values) in enumerate(series.items()):
            value = float(values[i])
            if value <= 0:
                continue
            h = plot_h * value / y_max
            y = TOP + plot_h - plot_h * base / y_max - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color(name, j)}" data-series="{escape(name)}" '
                f'data-label="{escape(label)}" data-value="{_fmt(value)}">'
                f"<title>{escape(label)} {escape(name)}: {_fmt(value)}</title></rect>"
            )
            base += value
    parts += _x_labels(labels, step_x)
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)


def lines(
    *,
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    unit: str = "",
) -> str:
    """One polyline per series; a None value leaves a gap (no data that bucket)."""
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    present = [v for values in series.values() for v in values if v is not None]
    y_max = nice_max(max(present, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step_x = plot_w / max(1, len(labels))
    parts = _frame(title, y_max, unit)
    for j, (name, values) in enumerate(series.items()):
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, value in enumerate(values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = LEFT + step_x * (i + 0.5)
            y = TOP + plot_h - plot_h * float(value) / y_max
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color(name, j)}" '
                f'data-series="{escape(name)}" data-value="{_fmt(float(value))}">'
                f"<title>{escape(labels[i])} {escape(name)}: {_fmt(float(value))}{escape(unit)}"
                "</title></circle>"
            )
        if segment:
            segments.append(segment)
        parts += [
            f'<polyline fill="none" stroke="{color(name, j)}" stroke-width="2" '
            f'points="{" ".join(points)}" data-series="{escape(name)}"/>'
            for points in segments
            if len(points) > 1
        ]
    parts += _x_labels(labels, step_x)
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)
