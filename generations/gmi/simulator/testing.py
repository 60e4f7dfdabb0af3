"""Test helper: a GMI simulator on 127.0.0.1, on a free port, in a background thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .server import GMISimulator


@contextlib.contextmanager
def running_simulator(*, job_seconds: float = 1.0, quiet: bool = True, **options: Any) -> Iterator[GMISimulator]:
    """Start a simulator for the duration of the block.

    >>> with running_simulator(job_seconds=1) as sim:
    ...     sim.base_url, sim.legacy_base_url, sim.legacy_models_url
    ...     sim.set_fault("rate_limit", count=2, retry_after=3)
    ...     sim.journal(endpoint="create")

    ``options`` go to ``GMISimulator`` (``key``, ``url_ttl``, ``seed``, ``faults``).
    """
    simulator = GMISimulator("127.0.0.1", 0, job_seconds=job_seconds, quiet=quiet, **options)
    with simulator:
        yield simulator
