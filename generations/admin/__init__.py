"""The staff's cockpit: generations with moderation and lifecycle actions, catalogue, teams, quotas, ledger.

Django's autodiscovery imports this package; importing the modules registers their admins
(``people`` also adds the profile inline to the user admin that django.contrib.auth registered).
"""
from django.contrib import admin

from . import (  # noqa: F401  (registration)
    audit,
    catalogue,
    generations,
    ledger,
    moderation,
    notifications,
    people,
    webhooks,
)

# The admin index links the usage page, unless the site chose its own index template.
if admin.site.index_template is None:
    admin.site.index_template = "admin/generations/index.html"
