"""Fixtures for the GMI client tests: a fresh simulator per test, and backends pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from generations.gmi.base import GMIBackend, RemoteJob
from generations.gmi.legacy import LegacyBackend
from generations.gmi.requestqueue import RequestQueueBackend
from gmi_simulator import GMISimulator
from gmi_simulator.testing import running_simulator
from tests.helpers.settings import TEST_API_KEY
from tests.helpers.waiting import wait_until


@pytest.fixture
def simulator() -> Iterator[GMISimulator]:
    """A simulator of its own for each test, so faults and jobs never leak between tests."""
    with running_simulator(job_seconds=0.4) as sim:
        yield sim


@pytest.fixture
def backend(simulator: GMISimulator) -> RequestQueueBackend:
    return RequestQueueBackend(api_key=TEST_API_KEY, base_url=simulator.base_url, connect_timeout=2, read_timeout=2)


@pytest.fixture
def legacy(simulator: GMISimulator) -> LegacyBackend:
    return LegacyBackend(
        api_key=TEST_API_KEY,
        base_url=simulator.legacy_base_url,
        models_url=simulator.legacy_models_url,
        connect_timeout=2,
        read_timeout=2,
    )


@pytest.fixture
def poll_until_done() -> Callable[..., list[RemoteJob]]:
    """Poll a job in real time until it ends; returns every observation."""

    def poll(backend: GMIBackend, request_id: str, *, model_id: str = "", timeout: float = 5.0) -> list[RemoteJob]:
        seen: list[RemoteJob] = []

        def ended() -> bool:
            seen.append(backend.get_request(request_id, model_id=model_id))
            return seen[-1].state.is_terminal

        try:
            wait_until(ended, timeout, f"job {request_id} to end")
        except AssertionError as late:
            raise AssertionError(f"{late}; last state {seen[-1].state}") from None
        return seen

    return poll
