"""Fixtures for the simulator's own tests: a fresh simulator per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gmi_simulator import GMISimulator
from gmi_simulator.testing import running_simulator


@pytest.fixture
def simulator() -> Iterator[GMISimulator]:
    """A simulator of its own for each test, so faults and jobs never leak between tests
    (the suite-wide ``simulator`` is shared by the session)."""
    with running_simulator(job_seconds=0.4) as sim:
        yield sim
