"""App config of the portal's account glue: connects its signal receivers and its admin."""
from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "gmi_project.accounts"
    label = "gmi_accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported for their side effect: the receivers connect to allauth's signals.
        from . import receivers  # noqa: F401
