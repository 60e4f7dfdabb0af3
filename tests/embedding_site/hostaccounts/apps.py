"""The host site's accounts app."""
from django.apps import AppConfig


class HostAccountsConfig(AppConfig):
    name = "tests.embedding_site.hostaccounts"
    label = "hostaccounts"
    default_auto_field = "django.db.models.BigAutoField"
