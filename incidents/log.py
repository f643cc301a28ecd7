"""The runbook's Incident Log Template, rendered from an incident and its timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.utils import timezone

from core.markdown import md_block, md_inline
from incidents.enums import TimelineKind
from incidents.labels import actor_label, reporter_label
from incidents.models import Incident, TimelineEntry

EMPTY = "—"


def human_duration(delta: timedelta) -> str:
    """``1 h 25 min``, ``2 d 3 h``, ``12 min``, ``0 min`` (whole minutes, rounded down)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _text(value: str) -> str:
    return md_block(value, empty=EMPTY)


def resolution_time(incident: Incident) -> str:
    if incident.resolved_at is None:
        return "unresolved"
    return human_duration(incident.resolved_at - incident.opened_at)


def render_incident(incident: Incident, timeline: Iterable[TimelineEntry]) -> str:
    """One incident in the runbook's template, followed by its timeline."""
    resolved_by = md_inline(actor_label(incident.resolved_by)) if incident.resolved_by else EMPTY
    lines = [
        f"## {incident.label} — {md_inline(incident.title)}",
        "",
        f"**Date**: {_when(incident.opened_at)}",
        f"**Severity**: {incident.severity}",
        f"**Reported By**: {md_inline(reporter_label(incident))}",
        f"**Resolved By**: {resolved_by}",
        f"**Resolution Time**: {resolution_time(incident)}",
        "",
        "**Description**: ",
        _text(incident.description),
        "",
        "**Impact**:",
        _text(incident.impact),
        "",
        "**Root Cause**:",
        _text(incident.root_cause),
        "",
        "**Resolution**:",
        _text(incident.resolution),
        "",
        "**Prevention**:",
        _text(incident.prevention),
        "",
        "**Lessons Learned**:",
        _text(incident.lessons_learned),
        "",
        "**Timeline**:",
    ]
    rows = [
        f"- {_when(e.at)} · {TimelineKind(e.kind).label} · {md_inline(e.actor_label)} · "
        + md_inline(e.message)
        for e in timeline
    ]
    lines.extend(rows or [EMPTY])
    return "\n".join(lines) + "\n"


def render_period(
    incidents: Iterable[tuple[Incident, Iterable[TimelineEntry]]], *, start: date, end: date
) -> str:
    """The pilot's incident log for a period: every incident opened in it, by number."""
    parts = [f"# Incident Log {start.isoformat()} to {end.isoformat()}\n"]
    bodies = [render_incident(incident, timeline) for incident, timeline in incidents]
    if not bodies:
        parts.append("No incidents in this period.\n")
    parts.extend(bodies)
    return "\n---\n\n".join(parts)
