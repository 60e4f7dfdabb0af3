"""Account pages: Django's auth views plus sign-up."""
from django.urls import include, path

urlpatterns = [
    path("", include("django.contrib.auth.urls")),
]
