"""System checks for the GENERATIONS settings dict."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, app_settings


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
    if not app_settings.API_KEY:
        errors.append(
            Warning(
                "GENERATIONS['API_KEY'] is empty: jobs cannot be sent to GMI.",
                hint="Set GMI_API_KEY, or run the bundled simulator (make run does this).",
                id="generations.W001",
            )
        )
    return errors
