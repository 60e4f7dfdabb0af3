"""URLs of the portal site: the admin, accounts and the generations app at the root."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("generations.accounts_urls")),
    path("", include("generations.urls")),
]

