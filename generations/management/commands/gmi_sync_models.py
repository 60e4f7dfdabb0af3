"""manage.py gmi_sync_models: refresh the model catalogue from GMI, with progress output."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...gmi.errors import GMIConfigurationError, GMIError
from ...services import catalogue


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a clear message of its own beats a wall of check warnings
    help = "Refresh the model catalogue from GMI (new models are added enabled; staff settings are kept)."

    def handle(self, *args, **options):
        try:
            counts = catalogue.sync_models(progress=self.stdout.write)
        except GMIConfigurationError as exc:
            raise CommandError(f"GMI is not configured: {exc}") from exc
        except GMIError as exc:
            raise CommandError(f"Could not read the model list from GMI: {exc}") from exc
        summary = (
            f"Catalogue synced: {counts['added']} added, {counts['updated']} updated, "
            f"{counts['unavailable']} no longer offered, {counts['failed']} could not be read."
        )
        self.stdout.write(self.style.WARNING(summary) if counts["failed"] else self.style.SUCCESS(summary))
