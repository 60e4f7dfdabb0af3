"""System checks for the GENERATIONS settings dict."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .api.throttles import parse_rate
from .client import backend_class, former_api_spelling
from .conf import DEFAULTS, RENAMED, app_settings
from .gmi.errors import GMIConfigurationError


@register(Tags.compatibility)
def check_generations_settings(app_configs, **kwargs):
    errors = []
    user = getattr(settings, "GENERATIONS", {}) or {}
    if not isinstance(user, dict):
        return [Error("GENERATIONS must be a dict.", id="generations.E001")]
    for key in sorted(set(user) & set(RENAMED)):
        errors.append(
            Warning(
                f"GENERATIONS[{key!r}] was renamed {RENAMED[key]!r}; the old name is still read for now.",
                hint=f"Rename the key to {RENAMED[key]!r}"
                     + (f" and remove {key!r}." if RENAMED[key] in user else "."),
                id="generations.W005",
            )
        )
    for key in sorted(set(user) - set(DEFAULTS) - set(RENAMED)):
        errors.append(
            Error(
                f"Unknown GENERATIONS key {key!r}.",
                hint="Known keys: " + ", ".join(sorted(DEFAULTS)),
                id="generations.E002",
            )
        )
    if app_settings.MODERATION not in {"post", "pre"}:
        errors.append(Error("GENERATIONS['MODERATION'] must be 'post' or 'pre'.", id="generations.E003"))
    if app_settings.SIGNUP not in {"open", "approval", "invite"}:
        errors.append(
            Error("GENERATIONS['SIGNUP'] must be 'open', 'approval' or 'invite'.", id="generations.E004")
        )
    if app_settings.STORAGE_ALIAS not in getattr(settings, "STORAGES", {}):
        errors.append(
            Error(
                f"STORAGES has no {app_settings.STORAGE_ALIAS!r} alias for mirrored videos.",
                hint="Add STORAGES['generations'] (FileSystemStorage or storages.backends.s3.S3Storage).",
                id="generations.E005",
            )
        )
    # An empty API_KEY is allowed (a site not connected yet; jobs wait in the queue and
    # the dispatcher logs it), but a backend that cannot be loaded is a mistake.
    try:
        backend_class()
    except GMIConfigurationError as exc:
        hint = ("Name a GMIBackend subclass by its dotted path, or remove BACKEND to use the API GMI_API names."
                if app_settings.BACKEND else "Use 'requestqueue' or 'legacy'; name any other backend in BACKEND.")
        errors.append(Error(str(exc), hint=hint, id="generations.E006"))
    else:
        former = former_api_spelling()
        if former:
            errors.append(Warning(
                f"GENERATIONS['API'] = {app_settings.API!r} names a backend, which is BACKEND's job now.",
                hint=f"Set GENERATIONS['BACKEND'] = {former!r} instead; API names an API generation "
                     "('requestqueue' or 'legacy').",
                id="generations.W006",
            ))
    errors += _engine_checks()
    errors += _throttle_checks()
    return errors


def _throttle_checks() -> list:
    """Rates that cannot be read fail here, not as a 500 on the first API call; a per-process cache is named."""
    problems: list[CheckMessage] = []
    for scope, rate in sorted(app_settings.THROTTLE_RATES.items()):
        try:
            parse_rate(rate)
        except ValueError as exc:
            problems.append(Error(f"GENERATIONS['THROTTLE_RATES'][{scope!r}]: {exc}", id="generations.E009"))
    backend = (getattr(settings, "CACHES", {}) or {}).get("default", {}).get("BACKEND", "")
    if app_settings.THROTTLE and not settings.DEBUG and backend.endswith(("locmem.LocMemCache", "dummy.DummyCache")):
        problems.append(Warning(
            "API throttling counts calls in the default cache, which is local to each process here: "
            "every web process then allows the full rate.",
            hint="Use a shared cache (RedisCache, or DatabaseCache with `manage.py createcachetable`). README, "
                 "Throttling.",
            id="generations.W004",
        ))
    return problems


#: The round trip assumed when sizing: a remote API is rarely closer than this.
TYPICAL_LATENCY = 0.1


def _engine_checks() -> list:
    """Configurations that cannot keep up or cannot work, found before the first job suffers."""
    problems: list[CheckMessage] = []
    for key in ("UPSTREAM_CONCURRENCY", "MIRROR_CONCURRENCY"):
        value = getattr(app_settings, key)
        if not isinstance(value, int) or value < 1:
            problems.append(Error(f"GENERATIONS[{key!r}] must be a whole number of at least 1.", id="generations.E007"))
    if problems:
        return problems
    in_flight, interval = int(app_settings.MAX_IN_FLIGHT), float(app_settings.POLL_INTERVAL)
    needed = in_flight * TYPICAL_LATENCY / max(interval, 0.001)
    if needed > int(app_settings.UPSTREAM_CONCURRENCY):
        problems.append(Warning(
            f"UPSTREAM_CONCURRENCY={app_settings.UPSTREAM_CONCURRENCY} cannot poll MAX_IN_FLIGHT={in_flight} jobs "
            f"every {interval:g} s at a {TYPICAL_LATENCY * 1000:.0f} ms round trip: statuses will trail GMI.",
            hint=f"Set GMI_UPSTREAM_CONCURRENCY to at least {int(needed) + 1} (summed over your qclusters), "
                 "or raise GMI_POLL_INTERVAL. README, Sizing.",
            id="generations.W001",
        ))
    q_cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    timeout, retry = q_cluster.get("timeout"), q_cluster.get("retry")
    if timeout is not None and retry is not None and retry <= timeout:
        problems.append(Warning(
            f"Q_CLUSTER retry ({retry}) must exceed timeout ({timeout}): a task still running would be run again.",
            id="generations.W002",
        ))
    if timeout is not None and timeout <= float(app_settings.MIRROR_DEADLINE):
        problems.append(Warning(
            f"Q_CLUSTER timeout ({timeout}) is not above MIRROR_DEADLINE ({app_settings.MIRROR_DEADLINE}): "
            "a staff re-mirror of a large video would be killed mid-copy.",
            id="generations.W003",
        ))
    if int(q_cluster.get("workers", 1) or 1) < 1:
        problems.append(Error("Q_CLUSTER workers must be at least 1.", id="generations.E008"))
    return problems
