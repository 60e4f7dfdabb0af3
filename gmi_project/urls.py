"""URLs of the portal site: the admin, accounts and the generations app at the root."""
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "GMI Video Portal · staff"
admin.site.site_title = "GMI Video Portal staff"
admin.site.index_title = "Run the portal"
# The changelists get the page's whole width; the app list stays one click away on the index.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (the API's JSON, files): answer, not 404.
    path("favicon.ico", RedirectView.as_view(url=static("generations/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("generations.accounts_urls")),
    path("", include("generations.urls")),
]

