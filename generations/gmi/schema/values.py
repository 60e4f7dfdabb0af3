"""Lenient readings of JSON values, shared by the schema reader, the validator and the derived facts."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

#: How deep nested containers are followed; deeper ones are junk or hostile.
MAX_DEPTH = 5
_LARGEST_INT = 2**63
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def bool_or_none(value: Any) -> bool | None:
    """A boolean however it is spelled (``"on"``, ``"yes"``, ``0``), or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1", "on", "required", "y"):
            return True
        if word in ("false", "no", "0", "off", "optional", "n"):
            return False
    return None


def number_or_none(value: Any) -> int | float | None:
    """A finite JSON number, or a numeric string read as one; bools and the rest are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # Beyond 64 bits no upstream takes it, and float arithmetic on it overflows.
        return value if abs(value) < _LARGEST_INT else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value.strip()):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text) if len(text) < 25 and abs(int(text)) < _LARGEST_INT else None
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1 and "5" apart from 5."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) != isinstance(b, str):
        return False
    return a == b


def display(value: Any) -> str:
    """A value as GMI's guides write it: ``true``, ``5`` for ``5.0``, JSON for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def tolerance(bound: int | float) -> float:
    """The slack allowed around a numeric bound."""
    # Bounds like 0.1 * 3 arrive as 0.30000000000000004; do not refuse those.
    return 1e-9 * max(1.0, abs(float(bound)))


def strings_in(value: Any, depth: int = 0) -> Iterator[str]:
    """Every non-blank string in a value, nested lists and objects included, stripped."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from strings_in(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v, depth + 1)
