"""Text that people or other systems typed, made safe to put in a Markdown document.

Whatever is stored, it can never start a heading, a list item, a block quote, a table row, a
field line (``**Name**: value``), a link or raw HTML in the documents this service renders (the
incident log, the Go/No-Go report): Markdown's own punctuation is backslash-escaped (CommonMark
lets any ASCII punctuation be escaped), control characters are dropped, and text that spans
lines is a quoted block whose every line is escaped the same way."""

from __future__ import annotations

import re
import unicodedata

# Inline punctuation that can open emphasis, code, links, HTML, entities, tables or
# strikethrough anywhere on a line (``#`` too: after a list marker it opens a heading).
_INLINE = re.compile(r"([\\`*_\[\]<>&|~!#])")
# What opens a block at the start of a line once the inline marks are escaped.
_BLOCK_START = re.compile(r"^(\s*)([-+=>:]|\d{1,9}(?=[.)]))")

EMPTY = "—"


def _printable(line: str) -> str:
    """Tabs become spaces; other control and format characters (NUL, ESC, bidi overrides,
    zero-width) go."""
    out = []
    for ch in line.replace("\t", " "):
        if unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        out.append(ch)
    return "".join(out)


def _escape_line(line: str) -> str:
    escaped = _INLINE.sub(r"\\\1", line)
    match = _BLOCK_START.match(escaped)
    if match is None:
        return escaped
    lead, marker = match.groups()
    rest = escaped[match.end() :]
    if marker.isdigit():  # "1. x" / "1) x": escape the dot or bracket after the number
        return f"{lead}{marker}\\{rest}"
    return f"{lead}\\{marker}{rest}"


def md_inline(text: str, *, empty: str = EMPTY) -> str:
    """One line, whatever was typed: line breaks folded into spaces, punctuation escaped."""
    one_line = " ".join(_printable(text.replace("\r", " ").replace("\n", " ")).split())
    return _escape_line(one_line) if one_line else empty


def md_block(text: str, *, empty: str = EMPTY) -> str:
    """Free text: one line stays a plain (escaped) line; several lines become a quoted block,
    so a line of it can never be taken for a heading or a field of the document."""
    lines = [_printable(line).rstrip() for line in text.strip().splitlines()]
    if not lines or not any(lines):
        return empty
    if len(lines) == 1:
        return md_inline(lines[0], empty=empty)
    return "\n".join(f"> {_escape_line(line)}" if line.strip() else ">" for line in lines)
