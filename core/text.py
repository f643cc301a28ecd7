"""One-line text: titles, names, labels and subjects never carry a line break or a control
character, whoever typed them (an email header with CR/LF is refused by the mail library, so
one stray newline in a title would silence every email about that incident)."""

from __future__ import annotations

import unicodedata


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
