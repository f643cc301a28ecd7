"""One-line text: titles, names, labels and subjects never carry a line break or a control
character, whoever typed them (an email header with CR/LF is refused by the mail library, so
one stray newline in a title would silence every email about that incident)."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.errors import DomainError

# Bidi embeddings, overrides and isolates reorder what a reader sees (a spoofed subject or
# name); other format characters (the emoji joiner, soft hyphen) are harmless to keep.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(value: str) -> str:
    """``value`` folded onto one line: every run of white space, line or paragraph separator
    and control character becomes one space; format characters (bidi overrides, zero-width)
    are dropped; the ends are trimmed."""
    out: list[str] = []
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        out.append(" " if category in ("Cc", "Zl", "Zp") or ch.isspace() else ch)
    return " ".join("".join(out).split())


def is_one_line(value: str) -> bool:
    return one_line(value) == value


def breaks_line(value: str) -> bool:
    """True when ``value`` holds a line break (CR, LF, NEL, line/paragraph separator), any
    other control character (tab, NUL, escape) or a bidi control."""
    return any(
        unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS for ch in value
    )


def one_line_message(field: str) -> str:
    return _("%(field)s must be one line: no line breaks or control characters.") % {
        "field": field.replace("_", " ").capitalize()
    }


def one_line_field(value: str, *, field: str, fold: bool = False) -> str:
    """The one rule for a one-line field, applied by the service that writes it.

    Text a person typed (API, admin) is refused, naming the field: silently rewriting what
    someone typed hides the mistake, and a 400 or a form error says exactly what to change.
    Text the system composed (detectors, integrations relaying someone else's alert) is
    folded with ``one_line``: there is nobody to ask, and the incident must still open."""
    text = (value or "").strip()
    if fold:
        return one_line(text)
    if breaks_line(text):
        message = one_line_message(field)
        raise DomainError(message, fields={field: [message]})
    return text


def validate_one_line(value: str) -> None:
    """The same rule as a Django validator, for a form field in the admin (the error appears
    beside the field, the typed text kept) or a DRF serializer field; the service still holds
    the rule, so an entry point without it is refused all the same."""
    if isinstance(value, str) and breaks_line(value.strip()):
        raise ValidationError(
            _("Must be one line: no line breaks or control characters."), code="not_one_line"
        )
