"""Template helpers of the console: the dashboard's data, times as ``<time>`` elements that the
static ``console.js`` turns into the viewer's time zone (UTC on hover) and live countdowns."""

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from console.selectors import Dashboard, dashboard_for

register = template.Library()


@register.simple_tag(takes_context=True)
def console_dashboard(context: dict[str, Any]) -> Dashboard | None:
    request = context.get("request")
    if request is None or not getattr(request.user, "is_staff", False):
        return None
    return dashboard_for(user=request.user)


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def local_time(value: datetime | None) -> SafeString:
    """``<time>`` showing UTC until the script shows it in the viewer's zone (UTC on hover)."""
    if value is None:
        return format_html("{}", "—")
    return format_html(
        '<time class="console-local" datetime="{}" title="{}">{}</time>',
        iso_utc(value),
        utc_text(value),
        utc_text(value),
    )


def _remaining(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@register.filter
def countdown(value: datetime | None) -> SafeString:
    """A live countdown to ``value`` (ticks every second; red once it has passed)."""
    if value is None:
        return format_html("{}", "—")
    left = (value - datetime.now(tz=UTC)).total_seconds()
    text = (
        _("%(t)s left") % {"t": _remaining(left)}
        if left > 0
        else _("overdue by %(t)s") % {"t": _remaining(left)}
    )
    return format_html(
        '<time class="console-countdown{}" datetime="{}" data-countdown="{}" '
        'data-left="{}" data-overdue="{}" title="{}">{}</time>',
        "" if left > 0 else " breached",
        iso_utc(value),
        iso_utc(value),
        _("left"),
        _("overdue by"),
        utc_text(value),
        text,
    )


@register.filter
def console_get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.filter
def percent_of(done: int | None, total: int | None) -> int:
    if not total:
        return 0
    return max(0, min(100, int(100 * (done or 0) / total)))
