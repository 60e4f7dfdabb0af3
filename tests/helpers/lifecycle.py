"""Drives generations through the real services until they end, as the poller task would."""
from __future__ import annotations

import time

from generations.models import Generation
from generations.services import dispatching, polling
from tests.helpers.engine import poll_due


def drive(generation: Generation, *, timeout: float = 15.0, until=None) -> Generation:
    """Run dispatcher/poller/sweeper passes until ``generation`` is terminal (or ``until(g)``)."""
    deadline = time.monotonic() + timeout
    while True:
        dispatching.dispatch_queued()
        poll_due()
        polling.sweep()
        generation.refresh_from_db()
        if (until(generation) if until else generation.is_terminal):
            return generation
        if time.monotonic() > deadline:
            raise AssertionError(f"{generation.pk} still {generation.status} after {timeout}s: {generation.error}")
        time.sleep(0.05)
