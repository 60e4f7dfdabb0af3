"""Settings for tests: the GMI key the simulator expects, the app pointed at a simulator, a few keys changed."""
from __future__ import annotations

from django.test import override_settings

TEST_API_KEY = "sk-test-7d1f0c2b9a"


def simulator_settings(sim, **extra) -> dict:
    """``GENERATIONS`` for the app talking to ``sim`` (request-queue API) with timings short enough for tests."""
    return {
        "API": "requestqueue",
        "API_KEY": TEST_API_KEY,
        "BASE_URL": sim.base_url,
        "MODELS_URL": sim.legacy_models_url,
        "MIRROR_ALLOWED_HOSTS": [f"127.0.0.1:{sim.port}"],  # the simulator's port only
        "POLL_INTERVAL": 0.1,
        "MAX_POLL_INTERVAL": 0.5,
        "RECONCILE_AFTER": 0.5,
        "RECONCILE_GIVE_UP": 3.0,
        "CONNECT_TIMEOUT": 2.0,
        "READ_TIMEOUT": 2.0,
        "MIRROR_LEASE": 5.0,
        **extra,
    }


def override_generations(**values):
    """Decorator/context manager: change a few GENERATIONS keys on top of the current ones."""
    from django.conf import settings

    return override_settings(GENERATIONS={**getattr(settings, "GENERATIONS", {}), **values})
