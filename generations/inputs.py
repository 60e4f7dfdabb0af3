"""Text from a request (query parameters, ids, slugs, codes) that no lookup can take: one check for the API,
the pages and the services, so a NUL byte is a clear 400 and never a database error."""
from __future__ import annotations

from .exceptions import InvalidCharacters


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot be looked up or stored (PostgreSQL refuses NUL in text), or None when it can."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "Contains a NUL character, which no name, id or search can hold."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains characters that are not valid Unicode."
    return None


def require_clean_text(**values: object) -> None:
    """Raise ``InvalidCharacters`` (400 ``invalid_characters``, by field) when one of ``values`` cannot be used."""
    errors = {name: [problem] for name, value in values.items() if (problem := text_problem(value))}
    if errors:
        raise InvalidCharacters(errors)
