"""URLs of the portal site: the probes, the admin, accounts and the generations app at the root."""
from django.contrib import admin
from django.urls import include, path

from generations.views import operations

urlpatterns = [
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("generations.accounts_urls")),
    path("", include("generations.urls")),
]
