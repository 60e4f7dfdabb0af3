"""Drives generations through the engine's own ticks, in the test's thread, until they end."""
from __future__ import annotations

from generations.models import Generation
from tests.helpers.engine import engine_here
from tests.helpers.waiting import wait_until


def drive(generation: Generation, *, timeout: float = 15.0, until=None) -> Generation:
    """Run an engine's ticks (sends, polls, the sweep, copies on its mirror threads) until ``generation``
    is terminal (or ``until(g)``). The engine then finishes what it has on the wire, and the row is read
    once more, so the generation returned is what the database holds."""
    def arrived() -> bool:
        engine.step()
        generation.refresh_from_db()
        return bool(until(generation)) if until else generation.is_terminal

    with engine_here() as engine:
        try:
            wait_until(arrived, timeout, interval=0)
        except AssertionError:
            raise AssertionError(f"{generation.pk} still {generation.status} after {timeout}s: {generation.error}") \
                from None
    generation.refresh_from_db()
    return generation
