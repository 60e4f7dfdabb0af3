"""Builds the configured GMI backend from GENERATIONS (the only place that reads upstream settings)."""
from __future__ import annotations

import os
import threading

from django.utils.module_loading import import_string

from .conf import app_settings
from .gmi.base import GMIBackend
from .gmi.errors import GMIConfigurationError
from .telemetry import ObservedCalls

BACKENDS = {
    "requestqueue": "generations.gmi.requestqueue.RequestQueueBackend",
    "legacy": "generations.gmi.legacy.LegacyBackend",
    # Jobs run in the process, for a host site's own tests (no HTTP, no simulator, no key).
    "memory": "generations.gmi.testing.InMemoryBackend",
}

_lock = threading.Lock()
_cached: tuple[tuple, GMIBackend] | None = None


def backend_class(api: str | None = None) -> type[GMIBackend]:
    api = api or app_settings.API
    path = BACKENDS.get(api, api)
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise GMIConfigurationError(
            f"GENERATIONS['API'] = {api!r} is neither one of {sorted(BACKENDS)} nor an importable backend class."
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, GMIBackend)):
        raise GMIConfigurationError(f"{path} is not a GMIBackend subclass.")
    return cls


_observed: dict[type[GMIBackend], type[GMIBackend]] = {}


def observed(cls: type[GMIBackend]) -> type[GMIBackend]:
    """``cls`` with every call counted and timed for /metrics (one subclass per backend class)."""
    if cls not in _observed:
        _observed[cls] = type(cls.__name__, (ObservedCalls, cls), {"__module__": cls.__module__})
    return _observed[cls]


def get_client() -> GMIBackend:
    """The backend for the current settings, one per process and shared by its threads.

    Its session keeps up to ``UPSTREAM_CONCURRENCY`` connections alive, so the
    upstream threads of a worker reuse them instead of opening one per call. The
    process id is part of the key: a forked worker never shares its parent's sockets.
    """
    global _cached
    config = (
        os.getpid(),
        app_settings.API,
        app_settings.API_KEY,
        app_settings.BASE_URL,
        app_settings.ORG_ID,
        app_settings.MODELS_URL,
        float(app_settings.CONNECT_TIMEOUT),
        float(app_settings.READ_TIMEOUT),
        max(1, int(app_settings.UPSTREAM_CONCURRENCY)),
        tuple(app_settings.MIRROR_ALLOWED_HOSTS),
    )
    cached = _cached
    if cached is not None and cached[0] == config:
        return cached[1]
    _, api, key, base_url, org_id, models_url, connect_timeout, read_timeout, pool_size, upload_hosts = config
    cls = observed(backend_class(api))
    if not key and cls.needs_api_key:
        raise GMIConfigurationError("GENERATIONS['API_KEY'] (GMI_API_KEY) is not set.")
    with _lock:
        if _cached is not None and _cached[0] == config:
            return _cached[1]
        # Settings only one API generation understands go to the backends that ask for them.
        options = {name: value for name, value in {"models_url": models_url}.items() if name in cls.provider_options}
        client = cls(
            api_key=key,
            base_url=base_url,
            org_id=org_id or None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pool_size=pool_size + 4,  # the engine's threads plus the odd call from the worker itself
            upload_allowed_hosts=upload_hosts,
            **options,
        )
        _cached = (config, client)
    return client
