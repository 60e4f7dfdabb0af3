"""Fixtures the browser tests share: the seeded world behind a live server, and the engine's polling beside it."""
from __future__ import annotations

import threading

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
def poller():
    """The engine's polling in a thread beside the live server (tasks run inline in tests)."""
    from django.db import connections

    from generations.services import polling
    from tests.helpers.engine import poll_due

    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                poll_due()
                polling.sweep()
            finally:
                connections.close_all()
            stop.wait(0.1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(5)
