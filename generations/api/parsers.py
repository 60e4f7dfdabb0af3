"""Request parsing that turns every malformed body into a clean 400 instead of a 500."""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def check_value(value: Any, *, depth: int = 0) -> None:
    """Refuse what the database or the JSON renderer cannot take: lone surrogates, absurd nesting.

    Raises ``ParseError`` (400). Iterative in spirit: the depth limit keeps recursion shallow.
    """
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("Text contains characters that are not valid Unicode (lone surrogates).") from None
        if "\x00" in value:  # PostgreSQL's jsonb cannot store it
            raise ParseError("Text contains a NUL character.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(key, depth=depth + 1)
            check_value(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_value(item, depth=depth + 1)


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON is nested deeper than {MAX_DEPTH} levels.") from None
        check_value(data)
        return data
