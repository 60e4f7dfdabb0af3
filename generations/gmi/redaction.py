"""Removes the GMI key (whole, in any letter case, or any piece of 8 characters or more) from upstream text and data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
#: Shorter pieces of a random key turn up in ordinary words and ids; longer ones are the key.
MIN_PIECE = 8
#: A key shorter than this is looked for whole only: its pieces would be ordinary words
#: (a development key such as "simulator-key" must not eat every "simulator" in the data).
MIN_KEY_FOR_PIECES = 16


class Redactor:
    """Redacts ``secrets`` from strings and, recursively, from decoded JSON.

    A secret of ``MIN_PIECE`` characters or more is searched as all its windows of that
    length in one case-insensitive pattern; every character covered by a matching window
    is redacted, so any copy of ``MIN_PIECE`` characters or more of the key, whole,
    truncated or re-cased, disappears as one ``[redacted]``. A shorter secret is
    redacted where it appears whole, in any case; one shorter than ``MIN_PIECE`` is
    no secret at all (redacting it would destroy ordinary text) and is left alone.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        pieces: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            secret = secret.lower()
            if len(secret) < MIN_PIECE:
                continue
            if len(secret) < MIN_KEY_FOR_PIECES:
                pieces.add(secret)
            else:
                pieces.update(secret[start : start + MIN_PIECE] for start in range(len(secret) - MIN_PIECE + 1))
        # Longest first, so a short whole secret never shadows a window at the same place.
        alternatives = "|".join(re.escape(piece) for piece in sorted(pieces, key=len, reverse=True))
        # A lookahead finds overlapping windows: each match marks where one starts.
        self._pattern = re.compile(f"(?=({alternatives}))", re.IGNORECASE) if pieces else None
        # Keys made of characters JSON never escapes appear in a JSON text as they are.
        self._plain = all(re.fullmatch(r"[A-Za-z0-9._~+=-]*", piece) for piece in pieces)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        spans: list[list[int]] = []
        for match in self._pattern.finditer(text):
            start, end = match.start(), match.start() + len(match.group(1))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        parts, cursor = [], 0
        for start, end in spans:
            parts += [text[cursor:start], REDACTED]
            cursor = end
        parts.append(text[cursor:])
        return "".join(parts)

    def data(self, value: Any, *, source: str | None = None) -> Any:
        """``value`` with every string in it redacted, dictionary keys included.

        ``source``: the JSON text ``value`` was decoded from. When it holds no copy of
        the key and no ``\\u`` escape (through which a copy could hide), no string
        decoded from it can hold one either, and the walk is skipped: a list of a
        thousand jobs is checked with one search instead of seventeen thousand.
        """
        if self._pattern is None:
            return value
        if source is not None and self._plain and "\\u" not in source and not self._pattern.search(source):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(key): self.data(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.data(item) for item in value)
        return value
