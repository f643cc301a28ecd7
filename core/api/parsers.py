"""The API's JSON parser: hostile bodies are a 400, never a 500.

The stock parser lets ``RecursionError`` (JSON nested thousands deep) escape as a server error,
and accepts strings PostgreSQL cannot store (NUL characters, lone UTF-16 surrogates written as
``\\u`` escapes) — the database then fails the request with a 500."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _check(data: Any) -> None:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _unstorable(value):
                raise ParseError(
                    "JSON parse error - strings may not contain NUL characters or lone surrogates."
                )
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        _check(data)
        return data
