"""Fixtures the browser tests share: the seeded world behind a live server, and an engine beside it."""
from __future__ import annotations

import pytest

from tests.browser.world import start_world_server


@pytest.fixture(scope="module")
def world(simulator, django_db_setup, django_db_blocker, tmp_path_factory):
    """The seeded world served for the whole module; ``world.base`` is its address."""
    with django_db_blocker.unblock():
        world, base, stop = start_world_server(simulator, tmp_path_factory.mktemp("world"))
        world.base = base
        try:
            yield world
        finally:
            stop()


@pytest.fixture
def engine():
    """An engine in a thread beside the live server, as a qcluster hosts one (tasks run inline in tests)."""
    from generations.services.engine import Engine
    from tests.helpers.engine import engines_running

    with engines_running(Engine()):
        yield
