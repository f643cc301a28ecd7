"""``{{ value|one_line }}``: free text (a reason) shown in a one-line place (a banner, a list
row) folded by the same rule as subjects, so no break or bidi control reshapes the line."""

from django import template

from core.text import one_line as fold

register = template.Library()


@register.filter(name="one_line")
def one_line(value: object) -> str:
    return fold(str(value)) if value is not None else ""
