"""Template helpers of the console: the dashboard's data, times as ``<time>`` elements that the
static ``console.js`` turns into the viewer's time zone (UTC on hover) and live countdowns."""

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from console.selectors import Dashboard, dashboard_for
from core.templatetags.times import iso_utc, local_time, utc_text
from incidents.selectors import deadline_breached_at

register = template.Library()


@register.simple_tag(takes_context=True)
def console_dashboard(context: dict[str, Any]) -> Dashboard | None:
    request = context.get("request")
    if request is None or not getattr(request.user, "is_staff", False):
        return None
    return dashboard_for(user=request.user)


# core's filter, also under this library so that console templates need one {% load %}.
register.filter("local_time", local_time)


def _remaining(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@register.filter
def countdown(value: datetime | None) -> SafeString:
    """A live countdown to ``value`` (ticks every second; red once it has passed: the breach
    rule of the SLA records, so the due instant itself is still on time)."""
    if value is None:
        return format_html("{}", "—")
    now = datetime.now(tz=UTC)
    breached = deadline_breached_at(due=value, at=now)
    left = (value - now).total_seconds()
    text = (
        _("overdue by %(t)s") % {"t": _remaining(left)}
        if breached
        else _("%(t)s left") % {"t": _remaining(left)}
    )
    return format_html(
        '<time class="console-countdown{}" datetime="{}" data-countdown="{}" '
        'data-left="{}" data-overdue="{}" title="{}">{}</time>',
        " breached" if breached else "",
        iso_utc(value),
        iso_utc(value),
        _("left"),
        _("overdue by"),
        utc_text(value),
        text,
    )
