"""Ranges and steps that GMI's guides write in words ("0.5 to 2 with step 0.1") rather than as keys."""
from __future__ import annotations

import re

from .values import number_or_none, tolerance

# Ranges that guides write in prose: "0.5 to 2 with step 0.1", "between 1 and 10", "(1-50)".
# The look-ahead refuses a number that continues ("2^32", "2**31", "1e6"), so it is never cut short.
_NUM = r"([+-]?\d+(?:\.\d+)?)(?![\d^*]|\.\d|[eE][+-]?\d)"
_TEXT_RANGES = (
    re.compile(rf"\bbetween\s+{_NUM}\s+and\s+{_NUM}", re.I),
    re.compile(rf"(?<![\w.^*]){_NUM}\s*(?:to|–|—|~|\.\.\.?)\s*{_NUM}", re.I),
    re.compile(rf"\brange\s*(?:is|of)?\s*[:=]?\s*[\[(]?\s*{_NUM}\s*(?:-|,)\s*{_NUM}", re.I),
    re.compile(rf"[\[(]\s*{_NUM}\s*(?:-|–|,)\s*{_NUM}\s*[\])]", re.I),
)
_TEXT_MIN = re.compile(rf"\b(?:min(?:imum)?(?:\s+value)?|at\s+least)\s*(?:is|of|:|=)?\s*{_NUM}", re.I)
_TEXT_MAX = re.compile(rf"\b(?:max(?:imum)?(?:\s+value)?|at\s+most|up\s+to)\s*(?:is|of|:|=)?\s*{_NUM}", re.I)
_STANDALONE_NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?![\w^*]|\.\d)")
_TEXT_STEP = re.compile(
    rf"\b(?:step(?:\s*size)?|in\s+steps\s+of|increments?(?:\s+of)?)\s*(?:of|is|:|=)?\s*{_NUM}", re.I
)


def range_from_text(text: str) -> tuple[int | float | None, int | float | None, int | float | None]:
    """(minimum, maximum, step) written in prose, each None when absent or not believable."""
    low = high = step = None
    spans: list[tuple[int, int]] = []
    for pattern in _TEXT_RANGES:
        match = pattern.search(text)
        if match:
            a, b = number_or_none(match.group(1)), number_or_none(match.group(2))
            if a is not None and b is not None and a <= b:
                low, high = a, b
                spans.append(match.span())
                break
    if low is None and (match := _TEXT_MIN.search(text)):
        low = number_or_none(match.group(1))
        spans.append(match.span())
    if high is None and (match := _TEXT_MAX.search(text)):
        high = number_or_none(match.group(1))
        spans.append(match.span())
    if low is not None and high is not None and low > high:
        low = high = None
    if match := _TEXT_STEP.search(text):
        step = number_or_none(match.group(1))
        spans.append(match.span())
        if step is not None and step <= 0:
            step = None
    # Prose that also names a value outside its own range ("0 to 4294967295; -1 for
    # random") is not a plain range; refusing that value would be wrong, so trust neither bound.
    rest = "".join(" " if any(a <= i < b for a, b in spans) else c for i, c in enumerate(text))
    for word in _STANDALONE_NUMBER.findall(rest):
        number = number_or_none(word)
        below = low is not None and number is not None and number < low - tolerance(low)
        above = high is not None and number is not None and number > high + tolerance(high)
        if below or above:
            return None, None, step
    return low, high, step
