"""Test helper: a GMI simulator on 127.0.0.1, on a free port, in a background thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .server import GMISimulator


@contextlib.contextmanager
def running_simulator(
    *,
    job_seconds: float = 1.0,
    quiet: bool = True,
    latency_ms: float = 0,
    video_mb: float = 0,
    **options: Any,
) -> Iterator[GMISimulator]:
    """Start a simulator for the duration of the block.

    >>> with running_simulator(job_seconds=1) as sim:
    ...     sim.base_url, sim.legacy_base_url, sim.legacy_models_url
    ...     sim.set_fault("rate_limit", count=2, retry_after=3)
    ...     sim.journal(endpoint="create")

    ``latency_ms`` delays every API call (and storage answer) as a remote GMI does;
    ``video_mb`` makes outcome videos valid MP4s of that many MiB. Other ``options`` go
    to ``GMISimulator`` (``key``, ``url_ttl``, ``seed``, ``faults``, ``storage_latency_ms``).
    """
    simulator = GMISimulator(
        "127.0.0.1", 0, job_seconds=job_seconds, quiet=quiet, latency_ms=latency_ms, video_mb=video_mb, **options
    )
    with simulator:
        yield simulator
