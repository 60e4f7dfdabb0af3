"""``get_client()``: one cached backend per process and settings, built with the options its API understands."""
from __future__ import annotations

from generations.client import get_client
from generations.gmi.legacy import LegacyBackend
from generations.gmi.requestqueue import RequestQueueBackend


def test_the_backend_is_built_once_and_shared_until_settings_change(gmi, settings) -> None:
    first = get_client()

    assert get_client() is first
    assert isinstance(first, RequestQueueBackend)
    settings.GENERATIONS = {**settings.GENERATIONS, "READ_TIMEOUT": 3.0}
    assert get_client() is not first


def test_the_pool_holds_a_connection_per_upstream_thread(gmi, settings) -> None:
    settings.GENERATIONS = {**settings.GENERATIONS, "UPSTREAM_CONCURRENCY": 12}

    client = get_client()

    assert client.pool_size == 16  # the engine's threads plus the worker's own calls
    assert client.http.session.get_adapter(client.base_url)._pool_maxsize == 16


def test_models_url_goes_to_the_legacy_backend_only(gmi, gmi_legacy, settings) -> None:
    legacy = get_client()
    settings.GENERATIONS = {**settings.GENERATIONS, "API": "requestqueue", "BASE_URL": gmi.base_url}
    current = get_client()

    assert isinstance(legacy, LegacyBackend) and legacy.models_url == gmi.legacy_models_url
    assert isinstance(current, RequestQueueBackend) and not hasattr(current, "models_url")
