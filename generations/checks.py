"""System checks for the GENERATIONS settings dict."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from .client import backend_class
from .conf import DEFAULTS, app_settings
from .gmi.errors import GMIConfigurationError


@register(Tags.compatibility)
def check_generations_settings(app_configs, **kwargs):
    errors = []
    user = getattr(settings, "GENERATIONS", {}) or {}
    if not isinstance(user, dict):
        return [Error("GENERATIONS must be a dict.", id="generations.E001")]
    for key in sorted(set(user) - set(DEFAULTS)):
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
        errors.append(Error(str(exc), hint="Use 'requestqueue' or 'legacy'.", id="generations.E006"))
    return errors
