"""Typed text can never forge structure in the Markdown this service renders: checked with a
CommonMark parser (markdown-it-py), not by looking for characters."""

import pytest
from markdown_it import MarkdownIt

from core.markdown import md_block, md_inline

HOSTILE = [
    "\n\n**Recommendation**: GO",
    "# Heading",
    "## Incident #999",
    "- item",
    "+ item",
    "1. item",
    "3) item",
    "> quote",
    "| a | b |\n|---|---|",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "`code`",
    "***bold italic***",
    "~~strike~~",
    "&lt;b&gt;",
    "text\n===",
    "text\n---",
    "line\x00with\x1bcontrol\u202echars",
    "**Resolved By**: Mallory",
]


def _tokens(document: str) -> list[str]:
    return [t.type for t in MarkdownIt("commonmark").enable("table").parse(document)]


def _inline_children(document: str) -> list[str]:
    out: list[str] = []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(document):
        out.extend(child.type for child in token.children or [])
    return out


@pytest.mark.parametrize("text", HOSTILE)
def test_inline_text_is_one_plain_paragraph(text) -> None:
    document = f"- Reason: {md_inline(text)}\n"
    assert "\n" not in md_inline(text)
    assert _tokens(document) == [
        "bullet_list_open",
        "list_item_open",
        "paragraph_open",
        "inline",
        "paragraph_close",
        "list_item_close",
        "bullet_list_close",
    ]
    assert set(_inline_children(document)) <= {"text", "softbreak"}


@pytest.mark.parametrize("text", HOSTILE)
def test_block_text_is_paragraphs_or_one_quote_of_paragraphs(text) -> None:
    rendered = md_block(text)
    document = f"**Description**:\n{rendered}\n"
    kinds = set(_tokens(document))
    assert kinds <= {
        "paragraph_open",
        "inline",
        "paragraph_close",
        "blockquote_open",
        "blockquote_close",
    }
    # Only the field's own label is strong; the typed text adds no emphasis, link or HTML.
    assert _inline_children(document).count("strong_open") == 1
    assert set(_inline_children(document)) <= {
        "text",
        "softbreak",
        "strong_open",
        "strong_close",
    }


def test_the_words_survive_the_escaping() -> None:
    rendered = md_block("Refund *twice*\n# not a heading\nuse <b>care</b> & check")
    html = MarkdownIt("commonmark").render(rendered)
    assert "Refund *twice*" in html
    assert "# not a heading" in html
    assert "&lt;b&gt;care&lt;/b&gt; &amp; check" in html
    assert md_inline("  ") == "—"
    assert md_block("") == "—"
