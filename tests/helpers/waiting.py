"""Waiting for a condition another thread or process brings about, instead of sleeping for a guessed while."""
from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "the condition", *,
               interval: float = 0.05) -> None:
    """Return as soon as ``predicate()`` is true; fail the test if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
