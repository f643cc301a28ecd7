"""Times on admin pages as ``<time>`` elements: UTC in the markup, which the project's static
``console/console.js`` (loaded by ``templates/admin/base_site.html``) turns into the viewer's time
zone, UTC on hover. In core so that every app's templates can show times the same way."""

from datetime import UTC, datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def local_time(value: datetime | None) -> SafeString:
    """``<time>`` showing UTC until the script shows it in the viewer's zone (UTC on hover)."""
    if value is None:
        return format_html("{}", "—")
    # The class name is what console.js looks for.
    return format_html(
        '<time class="console-local" datetime="{}" title="{}">{}</time>',
        iso_utc(value),
        utc_text(value),
        utc_text(value),
    )
