"""Shared fixtures: a GMI simulator over real HTTP, settings pointing at it, and isolated storage."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.settings import simulator_settings

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    """Browser tests drive Debian's Chromium: without it they are skipped, not failed."""
    if CHROMIUM.exists():
        return
    absent = pytest.mark.skip(reason="Debian's chromium is not installed")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(absent)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright drives Debian's Chromium (Playwright's own download is not available)."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="module", autouse=True)
def no_idle_connections_left_behind(django_db_blocker):
    """On PostgreSQL, end the idle sessions a module's threads left open (engine pools, threads
    that exited holding a persistent connection), so that later modules' own concurrency
    (50 racing submissions need 50 sessions) never meets the server's connection limit."""
    yield
    from django.db import connections

    default = connections["default"]
    if default.vendor != "postgresql":
        return
    mine = default.connection.info.backend_pid if default.connection is not None else 0
    with django_db_blocker.unblock():
        sweeper = default.copy()  # a session of its own: the main thread's is left as it is
        try:
            with sweeper.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid NOT IN (pg_backend_pid(), %s) AND state = 'idle'", [mine])
        finally:
            sweeper.close()


@pytest.fixture(autouse=True)
def isolated_storage(tmp_path, settings):
    """Each test writes mirrored files into its own directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "generations": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "generations")},
        },
    }
    from django.core.files.storage import storages

    storages._storages = {}  # the handler caches backends; settings changed under it
    yield tmp_path / "generations"
    storages._storages = {}


@pytest.fixture(autouse=True)
def fresh_send_window():
    """The send window is per process; each test starts as a freshly started worker does."""
    from generations.services.dispatching import send_window

    send_window.reset()


@pytest.fixture(autouse=True)
def fresh_catalogue_cache():
    """Catalogue rows are cached per process; a test's rows must not leak into the next test."""
    from generations.selectors.catalogue import forget_cached_models

    forget_cached_models()
    yield
    forget_cached_models()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttling counts calls in the cache; each test starts with none counted."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def simulator():
    """A GMI simulator on 127.0.0.1, shared by the session; faults are reset for each test by ``gmi``."""
    from gmi_simulator.testing import running_simulator

    with running_simulator(job_seconds=0.6) as sim:
        yield sim


@pytest.fixture
def gmi(simulator, settings):
    """Point the app at the simulator (request-queue API) with fast timings; yields the simulator."""
    simulator.reset()
    settings.GENERATIONS = simulator_settings(simulator)
    yield simulator
    simulator.reset()


@pytest.fixture
def gmi_legacy(simulator, settings):
    simulator.reset()
    settings.GENERATIONS = simulator_settings(simulator, API="legacy", BASE_URL=simulator.legacy_base_url)
    yield simulator
    simulator.reset()


@pytest.fixture
def catalogue(gmi, db):
    """The simulator's catalogue, synced into the database."""
    from generations.services.catalogue import sync_models

    sync_models()
    return gmi


@pytest.fixture
def user(db):
    from tests.helpers.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    from tests.helpers.factories import UserFactory

    return UserFactory(username="bob")


@pytest.fixture
def staff_user(db):
    from tests.helpers.factories import UserFactory

    return UserFactory(username="staffer", staff=True)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def no_auto_dispatch(monkeypatch):
    """Keep accepted jobs in the queue (tests about acceptance, not about sending)."""
    from generations import queue

    monkeypatch.setattr(queue, "enqueue_dispatch", lambda: None)


@pytest.fixture
def public_dns(monkeypatch):
    """Names under example.com, .example and e.com resolve to a public address (nothing resolves on
    these machines); ``*.internal.example`` to a private one. Others go to the real resolver."""
    from generations.net import policy

    real = policy.resolve_host

    def resolve(host: str, port: int) -> list[str]:
        name = host.lower().rstrip(".")
        if name.endswith(".internal.example"):
            return ["10.0.0.7"]
        if name.endswith(("example.com", ".example", "e.com")):
            return ["93.184.215.14"]
        return real(host, port)

    monkeypatch.setattr(policy, "resolve_host", resolve)
