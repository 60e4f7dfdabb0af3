"""A host site's URLs without django-allauth: the app's own account pages under accounts/, the app at the root."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("generations.accounts_urls")),
    path("", include("generations.urls")),
]
