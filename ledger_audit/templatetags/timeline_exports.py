"""Template helpers of the timeline-export panels."""

from django import template

register = template.Library()


@register.filter
def percent_of(done: int | None, total: int | None) -> int:
    """The progress bar's text for browsers that draw no ``<progress>``."""
    if not total:
        return 0
    return max(0, min(100, int(100 * (done or 0) / total)))
