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
}
#: ``API`` values from before ``BACKEND`` existed, still accepted: each names the class ``BACKEND`` now names.
FORMER_API_VALUES = {"memory": "generations.gmi.testing.InMemoryBackend"}

_lock = threading.Lock()
_cached: tuple[tuple, GMIBackend] | None = None


def backend_path() -> str:
    """The dotted path of the configured backend: ``BACKEND`` when set, else the class ``API`` names."""
    if app_settings.BACKEND:
        return str(app_settings.BACKEND)
    api = app_settings.API
    return BACKENDS.get(api) or FORMER_API_VALUES.get(api) or api


def former_api_spelling() -> str | None:
    """The ``BACKEND`` an ``API`` value means when it names a backend the old way (a dotted path, or
    ``"memory"``); None when ``API`` is one of the API generations or ``BACKEND`` is set."""
    api = app_settings.API
    if app_settings.BACKEND or api in BACKENDS:
        return None
    return FORMER_API_VALUES.get(api, api)


def backend_class() -> type[GMIBackend]:
    """The configured backend class; ``GMIConfigurationError`` saying which setting is wrong otherwise."""
    path = backend_path()
    if app_settings.BACKEND:
        where = f"GENERATIONS['BACKEND'] = {path!r}"
    else:
        where = f"GENERATIONS['API'] = {app_settings.API!r}"
    try:
        cls = import_string(path)
    except ImportError as exc:
        if app_settings.BACKEND:
            raise GMIConfigurationError(f"{where} cannot be imported ({exc}); name a GMIBackend subclass "
                                        "by its dotted path, e.g. 'generations.gmi.testing.InMemoryBackend'.") from exc
        raise GMIConfigurationError(f"{where} is not one of {sorted(BACKENDS)}.") from exc
    if not (isinstance(cls, type) and issubclass(cls, GMIBackend)):
        raise GMIConfigurationError(f"{where}: {path} is not a GMIBackend subclass.")
    return cls


def api_name() -> str:
    """The name the catalogue's models are filed under: the backend's own (``memory``…), else ``API``."""
    return backend_class().name or str(app_settings.API)


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
        backend_path(),
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
    _, _path, key, base_url, org_id, models_url, connect_timeout, read_timeout, pool_size, upload_hosts = config
    cls = observed(backend_class())
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
