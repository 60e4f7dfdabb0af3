"""The host site's URLs: its own sign-in page, and the app under /studio/."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("signin/", auth_views.LoginView.as_view(template_name="host/signin.html"), name="signin"),
    path("admin/", admin.site.urls),
    path("studio/", include("generations.urls")),
]
